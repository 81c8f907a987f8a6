/** The banner: what happened, what to do, the underlying detail, and a Dismiss button. */
import { ActionButton, Content, Flex, Heading, InlineAlert, Text } from '@adobe/react-spectrum';
import { usePanel, usePanelState } from './panel-context.ts';

export function ErrorBanner() {
  const { controller } = usePanel();
  const { banner } = usePanelState();
  if (!banner) return null;
  return (
    <InlineAlert variant={banner.tone === 'negative' ? 'negative' : 'notice'} data-testid="error-banner" width="100%">
      <Heading>{banner.title}</Heading>
      <Content>
        <Flex direction="column" gap="size-100">
          <Text>{banner.action}</Text>
          {banner.detail && (
            <Text UNSAFE_style={{ opacity: 0.75, fontSize: '0.85em', wordBreak: 'break-word' }}>
              {banner.code ? `${banner.code}: ` : ''}
              {banner.detail}
            </Text>
          )}
          <Flex justifyContent="end">
            <ActionButton isQuiet onPress={() => controller.dismissBanner()} data-testid="dismiss-banner">
              Dismiss
            </ActionButton>
          </Flex>
        </Flex>
      </Content>
    </InlineAlert>
  );
}
