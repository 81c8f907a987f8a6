/**
 * What photopea.html shows when it is opened on its own, not inside Photopea's plugin panel: it can
 * only work as Photopea's plugin (it drives Photopea through window.parent), so instead of
 * connecting and later blaming "open dialogs", it says so and shows how to add it to Photopea.
 */
import { Content, Flex, Heading, InlineAlert, Link, Provider, Text, View, defaultTheme } from '@adobe/react-spectrum';
import { createRoot } from 'react-dom/client';

/** Photopea's address carrying a plugin configuration for this page (plugin/PHOTOPEA.md). */
export function photopeaConfigUrl(pageUrl: string): string {
  const page = new URL(pageUrl);
  page.hash = ''; // never put a token into a link shown on screen
  const config = { environment: { plugins: [{ name: 'Palette', url: page.href, width: 340, height: 720, icon: new URL('palette-icon.svg', page).href }] } };
  return `https://www.photopea.com#${encodeURIComponent(JSON.stringify(config))}`;
}

/** True when the page runs as a top-level tab rather than in Photopea's plugin iframe. */
export function isOutsidePhotopea(win: Window): boolean {
  return win.parent === win;
}

export function PhotopeaOutside({ pageUrl }: { pageUrl: string }) {
  const link = photopeaConfigUrl(pageUrl);
  return (
    <View padding="size-300" maxWidth="size-6000">
      <InlineAlert variant="info" data-testid="outside-photopea">
        <Heading>Open Palette from Photopea's plugin menu</Heading>
        <Content>
          <Flex direction="column" gap="size-150">
            <Text>This page is Palette's Photopea plugin: it works only inside Photopea, which it drives from a side panel.</Text>
            <Text>1. Open Photopea with Palette added (bookmark it):</Text>
            <Link><a href={link} data-testid="photopea-link">Open Photopea with the Palette plugin</a></Link>
            <Text>2. Click the Palette button in Photopea's right-hand toolbar; the panel opens there and connects to this daemon.</Text>
            <Text UNSAFE_style={{ opacity: 0.75, fontSize: '0.85em' }}>
              For the editor in this browser tab instead, open <a href="./" style={{ color: 'inherit' }}>the standalone editor</a>.
              Details: plugin/PHOTOPEA.md.
            </Text>
          </Flex>
        </Content>
      </InlineAlert>
    </View>
  );
}

export function mountPhotopeaOutside(root: HTMLElement, pageUrl: string): void {
  createRoot(root).render(
    <Provider theme={defaultTheme} colorScheme="dark" scale="medium" minHeight="100%">
      <PhotopeaOutside pageUrl={pageUrl} />
    </Provider>,
  );
}
