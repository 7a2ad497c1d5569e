"""The security headers of every answer (OWASP REST Security cheat sheet, "Security headers").

The same set is on the functions' answers (`entry`), the gateway's own responses (template.yaml,
GatewayResponses) and the local gateway's own answers (devtools/emulator/gateway.py), so a client
sees one policy whoever answered:

- `Cache-Control: no-store`: answers are per tenant; shared caches only keep away from requests
  with `Authorization`, not `x-api-key`.
- `X-Content-Type-Options: nosniff`: JSON is never read as HTML or script.
- `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`: a JSON answer rendered
  as a page can load nothing and be framed by nobody (`X-Frame-Options: DENY` for old browsers).
  The Swagger UI page at /docs sets its own policy (functions/docs/app.py).
- `Strict-Transport-Security`: sent always; browsers ignore it over plain HTTP (`make start`) and
  keep to HTTPS for a year on the deployed stage. No `includeSubDomains`: the API's host name is
  not the owner's to decide for a whole domain.
"""

HSTS = "max-age=31536000"
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"

SECURITY_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": JSON_CSP,
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": HSTS,
}
