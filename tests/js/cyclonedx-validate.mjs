// Independent CycloneDX validation with the official JavaScript library (@cyclonedx/cyclonedx-library).
//
//   node cyclonedx-validate.mjs FILE...
//
// Each FILE is a CycloneDX JSON document; its specVersion picks the schema. Prints one JSON line
// per file: {"file", "specVersion", "valid", "errors"}. Exit 0 when every file is valid, 1 otherwise,
// 2 on unusable input. (XML validation in this library needs the native libxmljs2 module, which
// requires Node >= 22 and a compiler: XML is checked against the official XSDs with lxml instead.)
import { readFileSync } from 'node:fs';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';

const versions = { '1.2': Spec.Version.v1dot2, '1.3': Spec.Version.v1dot3, '1.4': Spec.Version.v1dot4,
  '1.5': Spec.Version.v1dot5, '1.6': Spec.Version.v1dot6 };
let allValid = true;
for (const file of process.argv.slice(2)) {
  let text;
  let spec;
  try {
    text = readFileSync(file, 'utf8');
    spec = JSON.parse(text).specVersion;
  } catch (e) {
    console.log(JSON.stringify({ file, error: String(e) }));
    process.exit(2);
  }
  if (!(spec in versions)) {
    console.log(JSON.stringify({ file, error: `unsupported specVersion ${spec}` }));
    process.exit(2);
  }
  const validator = new Validation.JsonStrictValidator(versions[spec]);
  const errors = await validator.validate(text);
  const valid = errors === null;
  allValid &&= valid;
  console.log(JSON.stringify({ file, specVersion: spec, valid, errors: valid ? [] : errors }));
}
process.exit(allValid ? 0 : 1);
