import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openMetricsToPrometheusText } from '../../services/core/metrics/registry';

describe('OpenMetrics to Prometheus text', () => {
  it('restores counter family names, drops exemplars and # EOF', () => {
    const om = [
      '# HELP tasker_x Things.',
      '# TYPE tasker_x counter',
      'tasker_x_total{a="1"} 3',
      '# HELP tasker_h Latency.',
      '# TYPE tasker_h histogram',
      'tasker_h_bucket{le="0.1"} 2 # {trace_id="abc"} 0.05 1700000000.000',
      '# EOF',
      '',
    ].join('\n');
    assert.equal(
      openMetricsToPrometheusText(om),
      [
        '# HELP tasker_x_total Things.',
        '# TYPE tasker_x_total counter',
        'tasker_x_total{a="1"} 3',
        '# HELP tasker_h Latency.',
        '# TYPE tasker_h histogram',
        'tasker_h_bucket{le="0.1"} 2',
        '',
      ].join('\n'),
    );
  });
});
