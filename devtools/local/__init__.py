"""`make start`, `make invoke` and `make key`: this project's API on the emulator (`devtools.emulator`).

- `store`: the local store that `make start`, `make key`, `make revoke-key` and `make invoke` share
  (its folder and files, the API keys provisioned in it);
- `serve`: the server as a child process, for tests and the benchmark;
- `console`: the local console at `/_console/`;
- `server`: `python -m devtools.local` (`make start`) puts them together.
"""
