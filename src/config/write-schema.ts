/**
 * Regenerates templates/deploy.schema.json from schema.ts:
 *   npm run build && node dist/config/write-schema.js
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_PATH, renderJsonSchema } from './json-schema.js';

export async function writeJsonSchema(file: string = JSON_SCHEMA_PATH): Promise<string> {
  await writeFile(file, renderJsonSchema());
  return file;
}

const runAsScript = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (runAsScript) {
  const written = await writeJsonSchema();
  process.stdout.write(`wrote ${path.relative(process.cwd(), written)}\n`);
}
