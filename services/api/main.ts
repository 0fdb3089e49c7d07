/** Entry point of the API process: the wired service, run with signal handling. */
import { runMain } from '../core/lifecycle/service';
import { createApiService } from './api-service';

runMain('tasker-api', createApiService);
