// Independent verification with sigstore-js (@sigstore/verify), offline, against a given root.
//
//   node verify.mjs --bundle B --trusted-root R (--artifact FILE | --digest sha256:HEX)
//                   [--san SAN --issuer ISSUER | --key PUBLIC.pem] [--timestamp-threshold N] [--tlog-threshold N]
//
// Exit 0 and one JSON line on success; exit 1 and the error on failure.
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

try {
  const bundle = bundleFromJSON(JSON.parse(readFileSync(args.bundle, 'utf8')));
  const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(args['trusted-root'], 'utf8')));
  let keys;
  if (args.key) {
    const key = createPublicKey(readFileSync(args.key));
    const hint = bundle.verificationMaterial.content.$case === 'publicKey'
      ? bundle.verificationMaterial.content.publicKey.hint : '';
    keys = { [hint]: { rawBytes: key.export({ format: 'der', type: 'spki' }), keyDetails: 'PKIX_ECDSA_P256_SHA_256' } };
  }
  const trust = toTrustMaterial(root, keys);
  const keyed = Boolean(args.key);
  const verifier = new Verifier(trust, {
    tlogThreshold: args['tlog-threshold'] !== undefined ? Number(args['tlog-threshold']) : (keyed ? 0 : 1),
    ctlogThreshold: keyed ? 0 : 1,
    timestampThreshold: keyed ? 0 : Number(args['timestamp-threshold'] ?? 1),
  });
  let artifact;
  if (args.artifact) artifact = readFileSync(args.artifact);
  const entity = toSignedEntity(bundle, artifact);
  const policy = keyed ? {} : { subjectAlternativeName: args.san, extensions: { issuer: args.issuer } };
  const signer = verifier.verify(entity, policy);
  const id = signer.identity ?? {};
  console.log(JSON.stringify({ ok: true, san: id.subjectAlternativeName ?? null, issuer: id.extensions?.issuer ?? null }));
} catch (e) {
  console.error(`${e.name || 'Error'}: ${e.code ? e.code + ': ' : ''}${e.message}`);
  process.exit(1);
}
