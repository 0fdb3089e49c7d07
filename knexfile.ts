/**
 * For the knex CLI only (`npx knex migrate:status` …): adapts the service's configuration, read
 * from the environment, to what the CLI expects. The services build theirs in core/db/knex-config.
 */
import { loadConfig } from './services/core/config/config';
import { knexConfig } from './services/core/db/knex-config';

export default knexConfig(loadConfig());
