/**
 * The settings of the selected task: variants, quality preset, seed lock; feather and grow for
 * Fill; sides and amount for Extend. Typed numbers commit on every valid keystroke (a TextField,
 * not a NumberField that commits on blur), so Generate always sees what the field shows.
 */
import { Flex, Item, NumberField, Picker, Radio, RadioGroup, Slider, Switch, TextField, ToggleButton, ActionButton } from '@adobe/react-spectrum';
import { useEffect, useState } from 'react';
import { MAX_FEATHER_PX, MAX_GROW_PX, MAX_SEED, MAX_VARIANTS } from '../../shared/protocol.ts';
import { QUALITY_ORDER, QUALITY_PRESETS, maxExtendAmount, randomSeed, type SettingsPatch } from '../state/settings.ts';
import { EXTEND_SIDES, WORKING_SIZE_CHOICES, type ExtendUnit, type PanelTask, type QualityPreset, type WorkingSizeChoice } from '../state/types.ts';
import { usePanel, usePanelState } from './panel-context.ts';

function useUpdate(task: PanelTask): (patch: SettingsPatch) => void {
  const { store } = usePanel();
  return (patch) => store.dispatch({ type: 'settings/update', task, patch });
}

/** A text field holding a number: commits each parseable value in range, shows the stored value on blur. */
function NumberInput(props: {
  label: string;
  value: number;
  min: number;
  max: number;
  integer: boolean;
  testId: string;
  onCommit: (value: number) => void;
  isDisabled?: boolean;
}) {
  const { label, value, min, max, integer, testId, onCommit } = props;
  const [text, setText] = useState(String(value));
  useEffect(() => setText(String(value)), [value]);
  const parsed = Number(text.trim().replace(',', '.'));
  const valid = text.trim() !== '' && Number.isFinite(parsed) && parsed >= min && parsed <= max && (!integer || Number.isInteger(parsed));
  return (
    <TextField
      label={label}
      value={text}
      inputMode={integer ? 'numeric' : 'decimal'}
      width="size-1600"
      data-testid={testId}
      isDisabled={props.isDisabled ?? false}
      validationState={valid ? undefined : 'invalid'}
      errorMessage={`${min} to ${max}`}
      onChange={(next) => {
        setText(next);
        const n = Number(next.trim().replace(',', '.'));
        if (next.trim() !== '' && Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n))) onCommit(n);
      }}
      onBlur={() => setText(String(value))}
    />
  );
}

export function TaskSettingsView() {
  const { task, settings, welcome } = usePanelState();
  const update = useUpdate(task);
  const common = settings[task];
  const maxVariants = Math.min(MAX_VARIANTS, welcome?.limits.maxVariants ?? MAX_VARIANTS);
  return (
    <Flex direction="column" gap="size-100">
      <Flex gap="size-200" alignItems="end" wrap>
        <NumberInput
          label="Variants"
          testId="variants-input"
          value={common.variants}
          min={1}
          max={maxVariants}
          integer
          onCommit={(variants) => update({ variants })}
        />
        <RadioGroup
          label="Quality"
          orientation="horizontal"
          value={common.quality}
          onChange={(value) => update({ quality: value as QualityPreset })}
          data-testid="quality-picker"
        >
          {QUALITY_ORDER.map((q) => (
            <Radio key={q} value={q} data-testid={`quality-${q}`}>
              {`${QUALITY_PRESETS[q].label} (${QUALITY_PRESETS[q].steps})`}
            </Radio>
          ))}
        </RadioGroup>
      </Flex>
      <Flex gap="size-150" alignItems="end" wrap>
        <Picker
          label="Working size"
          selectedKey={String(common.workingSize)}
          onSelectionChange={(key) => update({ workingSize: (key === 'auto' ? 'auto' : Number(key)) as WorkingSizeChoice })}
          width="size-1600"
          data-testid="working-size"
        >
          {WORKING_SIZE_CHOICES.map((size) => (
            <Item key={String(size)}>{size === 'auto' ? 'Auto' : `${size} px`}</Item>
          ))}
        </Picker>
        <Switch isSelected={common.seed.locked} onChange={(locked) => update({ seed: { locked } })} data-testid="seed-lock">
          Lock seed
        </Switch>
        {common.seed.locked && (
          <>
            <NumberField
              label="Seed"
              value={common.seed.seed}
              minValue={0}
              maxValue={MAX_SEED}
              step={1}
              formatOptions={{ useGrouping: false, maximumFractionDigits: 0 }}
              onChange={(seed) => Number.isFinite(seed) && update({ seed: { seed } })}
              width="size-1700"
              data-testid="seed-input"
            />
            <ActionButton onPress={() => update({ seed: { seed: randomSeed() } })} data-testid="seed-new">
              New seed
            </ActionButton>
          </>
        )}
      </Flex>
      {task === 'fill' && (
        <Flex gap="size-200" wrap>
          <Slider label="Feather (px)" minValue={0} maxValue={MAX_FEATHER_PX} value={settings.fill.feather} onChange={(feather) => update({ feather })} width="size-2400" isDisabled={settings.fill.softSelection} data-testid="fill-feather" />
          <Slider label="Grow (px)" minValue={-MAX_GROW_PX} maxValue={MAX_GROW_PX} value={settings.fill.grow} onChange={(grow) => update({ grow })} width="size-2400" isDisabled={settings.fill.softSelection} data-testid="fill-grow" />
          <Switch isSelected={settings.fill.softSelection} onChange={(softSelection) => update({ softSelection })} data-testid="fill-soft-selection">
            Soft selection sets strength
          </Switch>
        </Flex>
      )}
      {task === 'extend' && <ExtendSettingsView />}
      {task === 'colorize' && (
        <Switch isSelected={settings.colorize.replaceColour} onChange={(replaceColour) => update({ replaceColour })} data-testid="colorize-replace-colour">
          Replace existing colour
        </Switch>
      )}
      {task === 'restore' && (
        <Flex gap="size-200" wrap alignItems="end">
          <Switch isSelected={settings.restore.autoStrength} onChange={(autoStrength) => update({ autoStrength })} data-testid="restore-auto-strength">
            Auto strength (by JPEG quality)
          </Switch>
          <Slider label="Strength (%)" minValue={1} maxValue={100} value={settings.restore.strength} isDisabled={settings.restore.autoStrength}
            onChange={(strength) => update({ strength })} width="size-2400" data-testid="restore-strength" />
        </Flex>
      )}
      {task === 'extend' && (
        <Slider label="Strength (%)" minValue={1} maxValue={100} value={settings.extend.strength}
          onChange={(strength) => update({ strength })} width="size-2400" data-testid="extend-strength"
          aria-label="Strength (%): lower keeps closer to the photo mirrored outward, 100 invents freely" />
      )}
    </Flex>
  );
}

function ExtendSettingsView() {
  const { settings } = usePanelState();
  const update = useUpdate('extend');
  const extend = settings.extend;
  return (
    <Flex direction="column" gap="size-100">
      <Flex gap="size-50" wrap>
        {EXTEND_SIDES.map((side) => (
          <ToggleButton
            key={side}
            isSelected={extend.sides[side]}
            onChange={(on) => update({ sides: { [side]: on } })}
            data-testid={`extend-${side}`}
            flexGrow={1}
          >
            {side[0]!.toUpperCase() + side.slice(1)}
          </ToggleButton>
        ))}
      </Flex>
      <Flex gap="size-200" alignItems="end" wrap>
        <NumberInput
          label={extend.unit === 'percent' ? 'Amount (%)' : 'Amount (px)'}
          testId="extend-amount"
          value={extend.amount}
          min={0}
          max={maxExtendAmount(extend.unit)}
          integer={extend.unit === 'px'}
          onCommit={(amount) => update({ amount })}
        />
        <RadioGroup
          label="Unit"
          orientation="horizontal"
          value={extend.unit}
          onChange={(unit) => update({ unit: unit as ExtendUnit })}
          data-testid="extend-unit"
        >
          <Radio value="percent">%</Radio>
          <Radio value="px">px</Radio>
        </RadioGroup>
      </Flex>
    </Flex>
  );
}
