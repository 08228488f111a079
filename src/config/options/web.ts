import { isIP } from 'node:net';
import { opt } from '../spec.js';

const G = 'Web UI, HTTP API and metrics';

export const WEB_OPTIONS = {
  EF_WEBUI_ENABLE: opt.bool(G, true, 'Serve the web UI, the JSON API under /api/, /metrics, /healthz and /readyz.'),
  EF_WEBUI_IP: opt.checked(G, '127.0.0.1', 'Address the web server binds to.', 'an IPv4 or IPv6 address', (s) => (isIP(s) === 0 ? 'an IPv4 or IPv6 address' : null)),
  EF_WEBUI_PORT: opt.int(G, 8080, 'Web server port.', { min: 1, max: 65535 }),
  EF_WEBUI_PASSIVETOTAL_URL: opt.str(G, 'https://community.riskiq.com/research?query=', 'Base URL for launching in-context to PassiveTotal; the address is appended.', 'a URL'),
};
