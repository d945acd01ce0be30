/** Rules about env, secrets and vars. */
import type { Loose } from '../dsl.js';
import { parseEnvTemplate } from '../interpolate.js';
import type { Path } from '../positions.js';
import { TEMPLATE_NAMES } from '../schema.js';
import { didYouMean } from '../suggest.js';
import { definedKeys, hostsOf, stagesOf, type Rule } from './context.js';

type LooseMap = Loose<Record<string, string>> | undefined;

/** Every env map of the file with its path: top level, stages, hosts. */
function envMaps(raw: Parameters<Rule>[0]['raw']): [Path, LooseMap][] {
  const maps: [Path, LooseMap][] = [[['env'], raw.env]];
  for (const [name, stage] of stagesOf(raw)) {
    maps.push([['stages', name, 'env'], stage.env]);
    for (const host of hostsOf(name, stage)) maps.push([[...host.path, 'env'], host.details?.env]);
  }
  return maps;
}

export const envReferencesWellFormed: Rule = (ctx) => {
  for (const [path, env] of envMaps(ctx.raw)) {
    for (const [key, value] of Object.entries(env ?? {})) {
      if (value === undefined) continue;
      const parsed = parseEnvTemplate(value);
      if (!parsed.ok) ctx.report([...path, key], parsed.error);
    }
  }
};

/** A secret names an env entry: at the top level, one anywhere; in a stage, one of that stage. */
export const secretsNameEnvEntries: Rule = (ctx) => {
  const everywhere = envMaps(ctx.raw).flatMap(([, env]) => definedKeys(env));
  const check = (secrets: (string | undefined)[] | undefined, path: Path, names: string[]): void => {
    secrets?.forEach((secret, index) => {
      if (secret === undefined || names.includes(secret)) return;
      ctx.report([...path, index], `secret ${JSON.stringify(secret)} is not a key of env${didYouMean(secret, names)}`);
    });
  };
  check(ctx.raw.secrets, ['secrets'], everywhere);
  for (const [name, stage] of stagesOf(ctx.raw)) {
    const names = [...definedKeys(ctx.raw.env), ...definedKeys(stage.env), ...hostsOf(name, stage).flatMap((h) => definedKeys(h.details?.env))];
    check(stage.secrets, ['stages', name, 'secrets'], names);
  }
};

export const varsDoNotShadowBuiltIns: Rule = (ctx) => {
  const maps: [Path, LooseMap][] = [[['vars'], ctx.raw.vars]];
  for (const [name, stage] of stagesOf(ctx.raw)) {
    maps.push([['stages', name, 'vars'], stage.vars]);
    for (const host of hostsOf(name, stage)) maps.push([[...host.path, 'vars'], host.details?.vars]);
  }
  for (const [path, vars] of maps) {
    for (const key of definedKeys(vars)) {
      if ((TEMPLATE_NAMES as readonly string[]).includes(key)) {
        ctx.report([...path, key], `{{${key}}} is filled in by ship itself: choose another name`, 'key');
      }
    }
  }
};
