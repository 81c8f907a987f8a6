/** This session's generations, newest first: task, time, seeds, outcome and what was kept. */
import { Text, View } from '@adobe/react-spectrum';
import { formatDuration } from '../state/selectors.ts';
import { TASK_LABELS } from '../state/settings.ts';
import type { HistoryEntry } from '../state/types.ts';
import { usePanelState } from './panel-context.ts';

function describe(entry: HistoryEntry): string {
  const time = new Date(entry.finishedAt).toLocaleTimeString();
  const seeds = entry.seeds.length > 0 ? `seeds ${entry.seeds.join(', ')}` : 'no seeds';
  const outcome =
    entry.outcome === 'done'
      ? `${entry.results} variant${entry.results === 1 ? '' : 's'} in ${formatDuration(entry.timings?.totalMs ?? entry.finishedAt - entry.startedAt)}`
      : entry.outcome === 'cancelled'
        ? `cancelled (${entry.results}/${entry.variants})`
        : `failed (${entry.results}/${entry.variants})`;
  const kept = entry.kept.length > 0 ? ` · kept ${entry.kept.map((v) => v + 1).join(', ')}` : ' · not kept';
  return `${time} · ${TASK_LABELS[entry.task].label} · ${outcome} · ${seeds}${kept}`;
}

export function HistoryList() {
  const { history } = usePanelState();
  return (
    <View>
      <Text UNSAFE_style={{ fontWeight: 'bold' }}>History</Text>
      <ul data-testid="history-list" style={{ listStyle: 'none', margin: '4px 0 0', padding: 0, fontSize: '0.85em' }}>
        {history.length === 0 && <li style={{ opacity: 0.6 }}>No generations yet.</li>}
        {history.map((entry) => (
          <li key={entry.generation} data-testid={`history-${entry.generation}`} data-outcome={entry.outcome} style={{ padding: '2px 0' }}>
            {describe(entry)}
          </li>
        ))}
      </ul>
    </View>
  );
}
