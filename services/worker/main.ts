/** Entry point of the worker process: the wired service, run with signal handling. */
import { runMain } from '../core/lifecycle/service';
import { createWorkerService } from './worker-service';

runMain('tasker-worker', createWorkerService);
