/**
 * A recipe file, described with the same schema language as deploy.yaml. Its `vars`, `tasks`
 * and `hooks` are deploy.yaml's own shapes (taken from configSchema), so a task written in a
 * recipe and one written in deploy.yaml can never drift apart.
 */
import { list, obj, str, type Infer } from '../config/dsl.js';
import { configSchema } from '../config/schema.js';

const PROGRAM = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

export const recipeSchema = obj(
  {
    desc: str({ description: 'One line on what kind of app the recipe deploys, shown by `ship tasks` and `ship init`.' }),
    extends: str({ minLength: 1, description: 'A built-in recipe name, or the path of a recipe file (relative to this one).' }),
    requires: list(str({ pattern: PROGRAM, patternHint: 'a program name (as found on PATH)' }), {
      description: "Programs the hosts need for this recipe; `ship check` looks for each. Added to the parent's.",
    }),
    vars: configSchema.fields.vars,
    tasks: configSchema.fields.tasks,
    hooks: configSchema.fields.hooks,
  },
  { description: "A ship recipe: tasks that fill the deploy protocol's slots (build, backup, migrate, restart)." },
);

export type RawRecipe = Infer<typeof recipeSchema>;
