"""`make start`, `make invoke` and `make key`: this project's API on the emulator (`devtools.emulator`).

- `keys`: this project's API keys in the local store (`devtools.emulator.state`) that `make start`,
  `make key`, `make revoke-key` and `make invoke` share: the one parser of TODO_LOCAL_API_KEYS and
  the one provisioning;
- `serve`: the server as a child process, for tests and the benchmark;
- `console`: the local console at `/_console/`;
- `server`: `python -m devtools.local` (`make start`) puts them together.
"""
