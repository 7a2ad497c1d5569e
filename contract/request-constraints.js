// An Optic ruleset (contract/optic.yml) beside Optic's own `breaking-changes`, which compares types,
// requiredness, enums and removals but not a schema's bounds: here a request that was valid must
// stay valid, so no bound of a request body property or parameter may be narrowed (a lower
// maxLength, maxItems or maximum, a higher minLength, minItems or minimum, a bound, a pattern or an
// enum where there was none, a changed pattern, an enum value removed), in union members (`anyOf`,
// `oneOf`, matched by type) too, where `breaking-changes` does not look. Like `breaking-changes`, it is skipped when
// info.version's major number changes.
const { Ruleset, RequestRule, OperationRule, RuleError } = require('@useoptic/rulesets-base');

const UPPER = ['maxLength', 'maxItems', 'maxProperties', 'maximum', 'exclusiveMaximum'];
const LOWER = ['minLength', 'minItems', 'minProperties', 'minimum', 'exclusiveMinimum'];

// The narrowed bounds from `before` to `after`, as readable strings; union members are matched by type.
function narrowed(before, after, where = '') {
  if (!before || !after || typeof before !== 'object' || typeof after !== 'object') return [];
  const found = [];
  const bound = (name, isNarrower) => {
    if (!(name in after)) return;
    if (!(name in before)) found.push(`${where}${name} ${JSON.stringify(after[name])} added`);
    else if (isNarrower(after[name], before[name])) {
      found.push(`${where}${name} ${JSON.stringify(before[name])} -> ${JSON.stringify(after[name])}`);
    }
  };
  UPPER.forEach((name) => bound(name, (now, was) => now < was));
  LOWER.forEach((name) => bound(name, (now, was) => now > was));
  bound('pattern', (now, was) => now !== was);
  if (Array.isArray(after.enum)) {
    const kept = new Set(after.enum.map((value) => JSON.stringify(value)));
    if (!Array.isArray(before.enum)) found.push(`${where}enum added`);
    else {
      const removed = before.enum.filter((value) => !kept.has(JSON.stringify(value)));
      if (removed.length) found.push(`${where}enum ${JSON.stringify(removed)} removed`);
    }
  }
  for (const union of ['anyOf', 'oneOf']) {
    if (!Array.isArray(before[union]) || !Array.isArray(after[union])) continue;
    for (const member of after[union]) {
      const previous = before[union].find((old) => JSON.stringify(old.type) === JSON.stringify(member.type));
      found.push(...narrowed(previous, member, `${where}${union}[type ${JSON.stringify(member.type)}].`));
    }
  }
  return found;
}

const fail = (what, changes) => {
  if (changes.length) {
    throw new RuleError({ message: `expected ${what} not to be narrowed (${changes.join(', ')}). This is a breaking change.` });
  }
};

const requestBodyBounds = new RequestRule({
  name: 'prevent narrowing request body bounds',
  rule: (request) => {
    request.body.changed((before, after) => fail('the request body', narrowed(before.value.flatSchema, after.value.flatSchema)));
    request.property.changed((before, after) =>
      fail(`request body property '${after.value.key}'`, narrowed(before.value.flatSchema, after.value.flatSchema)),
    );
  },
});

const parameterBounds = new OperationRule({
  name: 'prevent narrowing parameter bounds',
  rule: (operation) => {
    for (const [kind, assertions] of [
      ['query', operation.queryParameter],
      ['path', operation.pathParameter],
      ['header', operation.headerParameter],
      ['cookie', operation.cookieParameter],
    ]) {
      assertions.changed((before, after) =>
        fail(`${kind} parameter '${after.value.name}'`, narrowed(before.value.schema, after.value.schema)),
      );
    }
  },
});

module.exports = {
  configSchema: { type: 'object' },
  rulesetConstructor: () =>
    new Ruleset({
      name: 'Request bounds',
      matches: (context) => context.specification.versionChange !== 'major',
      rules: [requestBodyBounds, parameterBounds],
    }),
};
