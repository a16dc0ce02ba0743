// A local Sigstore instance for tests: Fulcio, Rekor (v1) and a TSA from @sigstore/mock served
// over HTTP on 127.0.0.1, plus a matching trusted_root.json and ClientTrustConfig.
//
//   node sigstore-server.mjs OUTDIR
//
// Prints one JSON line {"url": ..., "trustedRoot": ..., "trustConfig": ...} once listening and
// serves until killed. What it does not exercise: the TSA handler speaks a JSON protocol, not
// RFC 3161 over HTTP, so the signing config lists no TSA; and Rekor v2 (the mock's v2 handler
// is not wired in).
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import mock from '@sigstore/mock';

const { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, rekorHandler, initializeTSA, tsaHandler } = mock;

const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: node sigstore-server.mjs OUTDIR');
  process.exit(2);
}

const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const b64 = (buf) => Buffer.from(buf instanceof ArrayBuffer ? new Uint8Array(buf) : buf).toString('base64');

// Adapt requests the way real Fulcio accepts them to what the mock handler parses:
// - the CSR is protobuf `bytes` (base64 of the PEM text), the mock parses the PEM text itself;
// - the identity token may come as `Authorization: Bearer` instead of `credentials`.
function normalizeFulcio(body, headers) {
  try {
    const json = JSON.parse(body);
    const auth = headers.authorization || '';
    if (!json.credentials && auth.startsWith('Bearer ')) {
      json.credentials = { oidcIdentityToken: auth.slice(7) };
    }
    const csr = json.certificateSigningRequest;
    if (typeof csr === 'string' && !csr.startsWith('-----BEGIN')) {
      json.certificateSigningRequest = Buffer.from(csr, 'base64').toString('utf8');
    }
    return JSON.stringify(json);
  } catch {
    // not JSON: let the handler report it
  }
  return body;
}

// Real Rekor stores a dsse 0.0.1 entry in canonical form (payload hash, envelope hash and the
// signature/verifier pairs), not the proposed envelope; the mock logs what it is sent, so do the
// canonicalisation Rekor does before logging.
function canonicalizeRekor(body) {
  let json;
  try {
    json = JSON.parse(body);
  } catch {
    return body;
  }
  const proposed = json?.spec?.proposedContent;
  if (json.kind !== 'dsse' || !proposed) return body;
  const envText = proposed.envelope;
  const env = JSON.parse(envText);
  const verifier = proposed.verifiers[0];
  const sha256 = (b) => createHash('sha256').update(b).digest('hex');
  return JSON.stringify({
    apiVersion: json.apiVersion,
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(Buffer.from(envText, 'utf8')) },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(env.payload, 'base64')) },
      signatures: env.signatures.map((s) => ({ signature: s.sig, verifier })),
    },
  });
}

const server = createServer();
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}`;
  const ctlog = await initializeCTLog(keyPair());
  const ca = await initializeCA(keyPair(), ctlog);
  const tlog = await initializeTLog(url, keyPair());
  const tsa = await initializeTSA(keyPair());
  const handlers = [fulcioHandler(ca), rekorHandler(tlog), tsaHandler(tsa)];

  server.on('request', (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const handler = handlers.find((h) => req.method === 'POST' && req.url.split('?')[0] === h.path);
      if (!handler) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end(`no handler for ${req.method} ${req.url}`);
        return;
      }
      try {
        let body = Buffer.concat(chunks).toString('utf8');
        if (handler.path === '/api/v2/signingCert') body = normalizeFulcio(body, req.headers);
        if (handler.path === '/api/v1/log/entries') body = canonicalizeRekor(body);
        const { statusCode, response, contentType } = await handler.fn(body);
        res.writeHead(statusCode, { 'Content-Type': contentType || 'text/plain' });
        res.end(typeof response === 'string' ? response : Buffer.from(response.buffer, response.byteOffset, response.byteLength));
      } catch (e) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(e));
      }
    });
  });

  const start = new Date(Date.now() - 60 * 60 * 1000).toISOString();
  const rekorKey = Buffer.from(tlog.publicKey);
  const ctKey = Buffer.from(new Uint8Array(ctlog.publicKey));
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(rekorKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: b64(createHash('sha256').update(rekorKey).digest()) },
    }],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: url,
      certChain: { certificates: [{ rawBytes: b64(Buffer.from(ca.rootCertificate)) }] },
      validFor: { start },
    }],
    ctlogs: [{
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(ctKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: b64(Buffer.from(new Uint8Array(ctlog.logID))) },
    }],
    timestampAuthorities: [],
  };
  const service = { url, majorApiVersion: 1, validFor: { start }, operator: 'local-mock' };
  const signingConfig = {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [service],
    oidcUrls: [],
    rekorTlogUrls: [service],
    rekorTlogConfig: { selector: 'ANY' },
    tsaUrls: [],
    tsaConfig: { selector: 'ANY' },
  };
  const trustConfig = {
    mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json',
    trustedRoot,
    signingConfig,
  };
  const rootPath = join(outDir, 'trusted_root.json');
  const configPath = join(outDir, 'trust_config.json');
  writeFileSync(rootPath, JSON.stringify(trustedRoot, null, 2));
  writeFileSync(configPath, JSON.stringify(trustConfig, null, 2));
  console.log(JSON.stringify({ url, trustedRoot: rootPath, trustConfig: configPath }));
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
