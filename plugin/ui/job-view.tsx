/**
 * Generate / Cancel, the progress bar, the live refinement preview, the variant strip and Keep.
 * The big preview shows the variant being refined while a job runs, and the variant chosen in the
 * strip (or the first) afterwards.
 */
import { ActionButton, Button, Flex, ProgressBar, Text, View } from '@adobe/react-spectrum';
import { jobProgressFraction, jobStatusText, progressPercent, stripResult } from '../state/selectors.ts';
import type { ImageBytes, Job, PanelState } from '../state/types.ts';
import { useImageUrl } from './image-url.ts';
import { usePanel, usePanelState } from './panel-context.ts';

export function GenerateButtons() {
  const { controller } = usePanel();
  const { job } = usePanelState();
  return (
    <Flex gap="size-150">
      <Button variant="accent" onPress={() => void controller.generate()} isDisabled={job !== null} data-testid="generate-button">
        Generate
      </Button>
      <Button variant="secondary" onPress={() => controller.cancel()} isDisabled={job === null || job.cancelRequested} data-testid="cancel-button">
        Cancel
      </Button>
    </Flex>
  );
}

export function JobProgress({ job }: { job: Job }) {
  const fraction = jobProgressFraction(job);
  const text = jobStatusText(job);
  return fraction === null ? (
    <ProgressBar label={text} isIndeterminate width="100%" data-testid="progress-bar" />
  ) : (
    <ProgressBar
      label={text}
      value={fraction >= 1 ? 1000 : Math.floor(fraction * 1000)}
      maxValue={1000}
      valueLabel={`${progressPercent(fraction)} %`}
      width="100%"
      data-testid="progress-bar"
    />
  );
}

/** The image for the big preview: the live refinement while running, else the chosen result. */
function previewImage(state: PanelState): ImageBytes | undefined {
  const { job, strip, previewedVariant, chosenVariant } = state;
  if (job?.preview) {
    const finished = new Set(job.results.map((r) => r.variant));
    const refining = job.preview.images.findIndex((_, i) => !finished.has(i));
    return job.preview.images[refining >= 0 ? refining : 0];
  }
  const shown = previewedVariant ?? chosenVariant;
  const chosen = (shown === null ? undefined : stripResult(strip, shown)) ?? strip?.results[0];
  return chosen?.layer.image;
}

export function LivePreview() {
  const state = usePanelState();
  const image = previewImage(state);
  const src = useImageUrl(image);
  if (!src || !image) return null;
  return (
    <View borderWidth="thin" borderColor="default" borderRadius="small" padding="size-50">
      <img
        src={src}
        alt="Preview of the generation"
        data-testid="preview-image"
        style={{ display: 'block', width: '100%', maxHeight: 280, objectFit: 'contain' }}
      />
    </View>
  );
}

function Thumbnail({ image, label }: { image: ImageBytes | undefined; label: string }) {
  const src = useImageUrl(image);
  return src ? (
    <img src={src} alt={label} style={{ width: 64, height: 64, objectFit: 'contain', display: 'block' }} />
  ) : (
    <View width={64} height={64} backgroundColor="gray-200" />
  );
}

export function VariantStripView() {
  const { controller } = usePanel();
  const { strip, job, previewedVariant, chosenVariant } = usePanelState();
  if (!strip) return null;
  // The variant Keep takes and the strip marks: the one previewed, else the one last chosen.
  const current = previewedVariant ?? chosenVariant;
  const live = job && job.generation === strip.generation ? job : null;
  // While the job runs, variants still sampling show as placeholders; afterwards only results.
  const count = live ? Math.max(strip.expected, strip.results.length) : 0;
  const slots = live ? Array.from({ length: count }, (_, i) => i) : strip.results.map((r) => r.variant);
  if (slots.length === 0) return <KeepPlaceholder />;
  return (
    <Flex direction="column" gap="size-100">
      <Flex wrap gap="size-75">
        {slots.map((variant) => {
          const result = stripResult(strip, variant);
          if (!result) {
            // Still sampling: its latest refinement preview, not clickable yet.
            return (
              <View key={variant} padding="size-50" UNSAFE_style={{ opacity: 0.6 }} aria-label={`Variant ${variant + 1} in progress`}>
                <Thumbnail image={live?.preview?.images[variant]} label={`Variant ${variant + 1} (in progress)`} />
              </View>
            );
          }
          const kept = strip.kept.includes(variant);
          const selected = current === variant;
          // A plain button: Spectrum's ActionButton squeezes image content, and UXP handles it better.
          return (
            <button
              key={variant}
              type="button"
              onClick={() => void controller.previewVariant(variant)}
              data-testid={`variant-${variant}`}
              aria-pressed={selected}
              aria-label={`Variant ${variant + 1}, seed ${result.seed}${kept ? ', kept' : ''}`}
              title={`Variant ${variant + 1} · seed ${result.seed}${kept ? ' · kept' : ''}\nClick to show it in the document`}
              style={{
                padding: 2,
                cursor: 'pointer',
                background: 'transparent',
                borderRadius: 4,
                border: `2px solid ${selected ? 'var(--spectrum-global-color-blue-500, #2680eb)' : 'var(--spectrum-global-color-gray-400, #555)'}`,
                opacity: kept ? 0.7 : 1,
              }}
            >
              <Thumbnail image={result.layer.image} label={`Variant ${variant + 1}, seed ${result.seed}`} />
            </button>
          );
        })}
      </Flex>
      <Flex gap="size-100" alignItems="center" wrap>
        <ActionButton onPress={() => void controller.keep()} isDisabled={strip.results.length === 0} data-testid="keep-button">
          {current === null ? 'Keep' : `Keep variant ${current + 1}`}
        </ActionButton>
        <ActionButton onPress={() => void controller.keepAll()} isDisabled={strip.results.length === 0} data-testid="keep-all-button">
          Keep all
        </ActionButton>
        {strip.kept.length > 0 && <Text UNSAFE_style={{ fontSize: '0.85em' }}>{`Kept: ${strip.kept.map((v) => v + 1).join(', ')}`}</Text>}
      </Flex>
    </Flex>
  );
}

export function KeepPlaceholder() {
  // Keep buttons exist (disabled) before the first generation, so the layout does not jump.
  return (
    <Flex gap="size-100">
      <ActionButton isDisabled data-testid="keep-button">Keep</ActionButton>
      <ActionButton isDisabled data-testid="keep-all-button">Keep all</ActionButton>
    </Flex>
  );
}
