// The docs' TypeScript client (docs/clients.md includes this file): `make lint-openapi` generates the types from
// functions/docs/openapi.json with openapi-typescript and compiles this file with tsc --strict, so a
// document whose operations, bodies or error shapes drift from what the example uses fails there.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./todo-api";

type Todo = components["schemas"]["Todo"];

// A machine client: its API key in the x-api-key header.
export async function withKey(API: string, KEY: string): Promise<Todo> {
  const api = createClient<paths>({ baseUrl: API, headers: { "x-api-key": KEY } });

  const created = await api.POST("/todos", { body: { title: "Read a book" } });
  if (created.error) throw new Error(created.error.error); // ErrorBody on every error status
  const location: string | null = created.response.headers.get("Location");

  const read = await api.GET("/todos/{todo_id}", { params: { path: { todo_id: created.data.id } } });
  if (read.error) throw new Error(`${read.error.error} at ${location}`);
  const etag = read.response.headers.get("ETag") ?? `"${read.data.version}"`;

  const updated = await api.PATCH("/todos/{todo_id}", {
    params: { path: { todo_id: read.data.id }, header: { "if-match": etag } },
    body: { completed: true },
  });
  if (updated.error) throw new Error(updated.error.error); // 412: changed since it was read

  const done = await api.GET("/todos", { params: { query: { completed: "true", limit: 10 } } });
  if (done.error) throw new Error(done.error.error);
  const next: string | null | undefined = done.data.next_cursor;
  console.log(done.data.items.map((todo) => todo.title), next);

  const invalid = await api.POST("/todos", { body: { title: " " } });
  console.log(invalid.error?.details?.map((detail) => detail.loc.join(".")));

  const deleted = await api.DELETE("/todos/{todo_id}", { params: { path: { todo_id: read.data.id } } });
  if (deleted.error) throw new Error(deleted.error.error);
  return updated.data;
}

// A signed-in user: a fresh access token on every request.
export function withToken(API: string, accessToken: () => Promise<string>) {
  const bearer: Middleware = {
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${await accessToken()}`);
      return request;
    },
  };
  const api = createClient<paths>({ baseUrl: API });
  api.use(bearer);
  return api;
}
