/** The shape of one benchmark run's results (what the table and the JSON file are made from). */
import type { DrainRun } from './drain';
import type { E2eRun } from './end-to-end';
import type { IngestRun } from './ingest';
import type { PeerRun } from './peers/peer-runs';
import type { PublishCost } from './publish-cost';
import type { References } from './reference';
import type { ReliabilityRun } from './reliability';

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  postgres: string;
  rabbitmq: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
}

export interface Results {
  startedAt: string;
  totalSeconds: number;
  machine: Machine;
  settings: Record<string, unknown>;
  references: References;
  /** The confirmed publish, three ways (publish-cost.ts). */
  publishCosts: PublishCost[];
  ingest: IngestRun[];
  tracing: {
    offReqPerSec: number;
    exportReqPerSec: number;
    sampledReqPerSec: number;
    offCpuMsPerReq: number;
    exportCpuMsPerReq: number;
    sampledCpuMsPerReq: number;
    exportOverheadPct: number;
    sampledOverheadPct: number;
    sinkRequests: number;
    sinkBytes: number;
  } | null;
  endToEnd: E2eRun[];
  drain: DrainRun[];
  reliability: ReliabilityRun | null;
  /** The peers measured in the same run (empty with --no-peers). */
  peers: PeerRun[];
  /** Error/fatal log lines the services wrote, by "scenario / process": count and a few samples. */
  serviceErrors: Record<string, { count: number; samples: string[] }>;
  errors: string[];
}
