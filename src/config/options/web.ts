import { isIP } from 'node:net';
import { opt } from '../spec.js';

const G = 'Web UI, HTTP API and metrics';
/** A DNS name (letters, digits, hyphens, dots), optionally behind `*.`. */
const HOST_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i;

export const WEB_OPTIONS = {
  EF_WEBUI_ENABLE: opt.bool(G, true, 'Serve the web UI, the JSON API under /api/, /metrics, /healthz and /readyz.'),
  EF_WEBUI_IP: opt.checked(G, '127.0.0.1', 'Address the web server binds to.', 'an IPv4 or IPv6 address', (s) => (isIP(s) === 0 ? 'an IPv4 or IPv6 address' : null)),
  EF_WEBUI_PORT: opt.int(G, 8080, 'Web server port.', { min: 1, max: 65535 }),
  EF_WEBUI_ALLOWED_HOSTS: opt.list(G, '', 'Host names the web server answers to besides IP addresses, `localhost` and this machine\'s own name: the name users or a reverse proxy put in the Host header (`*.example.com` matches its subdomains; `*` any name). Other names are refused with 421, so that a web page elsewhere cannot read the API through DNS rebinding.', { test: (s) => s === '*' || HOST_NAME.test(s), allowed: 'host names, *.domain or *' }),
  EF_WEBUI_AUTH_USERNAME: opt.str(G, '', 'User name the web UI, the API and /metrics ask for (HTTP Basic); empty: no login (/healthz and /readyz never ask). Set with EF_WEBUI_AUTH_PASSWORD.', 'a user name without `:`'),
  EF_WEBUI_AUTH_PASSWORD: opt.secret(G, 'Password for EF_WEBUI_AUTH_USERNAME. Never logged. Sent with every request: serve HTTPS (EF_WEBUI_TLS_ENABLE) where it crosses a network.'),
  EF_WEBUI_TLS_ENABLE: opt.bool(G, false, 'Serve HTTPS with EF_WEBUI_TLS_CERT_FILEPATH and EF_WEBUI_TLS_KEY_FILEPATH instead of HTTP; plain HTTP sent to the port is redirected to HTTPS.'),
  EF_WEBUI_TLS_CERT_FILEPATH: opt.str(G, '', 'The server\'s certificate (PEM), its chain after it. Read at start, and again when the file changes (a renewed certificate is served within 10 minutes, no restart).', 'a file path'),
  EF_WEBUI_TLS_KEY_FILEPATH: opt.str(G, '', 'The certificate\'s private key (PEM, unencrypted), read with the certificate.', 'a file path'),
  EF_WEBUI_PASSIVETOTAL_URL: opt.str(G, 'https://community.riskiq.com/research?query=', 'Base URL for launching in-context to PassiveTotal; the address is appended.', 'a URL'),
};
