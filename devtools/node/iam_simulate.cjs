// Evaluates IAM requests offline with @cloud-copilot/iam-simulate (AWS's evaluation logic:
// identity, session and resource policies, every condition operator and set qualifier).
// stdin: a JSON array of the library's `Simulation` objects; stdout: a JSON array, one entry per
// simulation, {"result": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied"} or {"errors": ...}.
// Run with NODE_PATH=.local/node/node_modules (see tests/integration/test_iam_fences.py).
const { runSimulation } = require('@cloud-copilot/iam-simulate')

async function main() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const simulations = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const answers = []
  for (const simulation of simulations) {
    const outcome = await runSimulation(simulation, { simulationMode: 'Strict' })
    answers.push(outcome.resultType === 'error' ? { errors: outcome.errors } : { result: outcome.overallResult })
  }
  process.stdout.write(JSON.stringify(answers))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
