/** The status line: connected / connecting / reconnecting (attempt, countdown) / no daemon, with Retry. */
import { ActionButton, Flex, StatusLight } from '@adobe/react-spectrum';
import { connectionText } from '../state/selectors.ts';
import { usePanel, usePanelState, useNow } from './panel-context.ts';

const LIGHT = { connecting: 'info', connected: 'positive', reconnecting: 'notice', offline: 'negative' } as const;

export function ConnectionLine() {
  const { connection } = usePanel();
  const { connection: status, welcome } = usePanelState();
  const counting = (status.kind === 'reconnecting' || status.kind === 'offline') && status.nextRetryAt !== null;
  const now = useNow(counting);
  const model = status.kind === 'connected' && welcome?.defaultModel ? ` · ${welcome.defaultModel}` : '';
  const canRetry = status.kind === 'reconnecting' || status.kind === 'offline';
  return (
    <Flex direction="column" alignItems="start" gap="size-50">
      <StatusLight variant={LIGHT[status.kind]} data-testid="connection-status" UNSAFE_style={{ whiteSpace: 'normal' }}>
        {connectionText(status, now)}
        {model}
      </StatusLight>
      {canRetry && (
        <ActionButton onPress={() => connection.reconnectNow()} data-testid="retry-button">
          Retry now
        </ActionButton>
      )}
    </Flex>
  );
}
