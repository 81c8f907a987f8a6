/**
 * The banner: what happened, what to do, the underlying detail, and a Dismiss button. The error code
 * is for bug reports, so it sits on the quiet details line, never in front of the message. A new
 * banner scrolls itself into view: the panel is often scrolled down to the variants when the
 * connection drops or comes back, and a notice nobody sees tells nothing.
 */
import { ActionButton, Content, Flex, Heading, InlineAlert, Text } from '@adobe/react-spectrum';
import { useEffect, useRef } from 'react';
import { usePanel, usePanelState } from './panel-context.ts';

export function ErrorBanner() {
  const { controller } = usePanel();
  const { banner } = usePanelState();
  const box = useRef<HTMLDivElement>(null);
  const shown = banner ? `${banner.title}\n${banner.action}` : '';
  useEffect(() => {
    // Optional call: UXP's DOM has no scrollIntoView on every element.
    if (shown) box.current?.scrollIntoView?.({ block: 'nearest' });
  }, [shown]);
  if (!banner) return null;
  return (
    <div ref={box}>
      <InlineAlert variant={banner.tone === 'negative' ? 'negative' : 'notice'} data-testid="error-banner" width="100%">
        <Heading>{banner.title}</Heading>
        <Content>
          <Flex direction="column" gap="size-100">
            <Text>{banner.action}</Text>
            {(banner.detail || (banner.code && banner.tone === 'negative')) && (
              <Text UNSAFE_style={{ opacity: 0.7, fontSize: '0.85em', wordBreak: 'break-word' }} data-testid="banner-details">
                {banner.detail ? `Details: ${banner.detail}` : 'Details:'}
                {banner.code ? ` (error code ${banner.code})` : ''}
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
    </div>
  );
}
