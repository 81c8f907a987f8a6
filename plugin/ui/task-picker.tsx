/** Fill (selection) / Colorize (active layer) / Extend (canvas) / Restore (JPEG). */
import { Flex, Text, ToggleButton } from '@adobe/react-spectrum';
import { TASK_LABELS } from '../state/settings.ts';
import { PANEL_TASKS } from '../state/types.ts';
import { usePanel, usePanelState } from './panel-context.ts';

const TASK_HINTS = {
  fill: 'Generates new content inside the selection of the active layer.',
  colorize: 'Colorizes the active layer (grayscale in, colour out).',
  extend: 'Extends the canvas and paints what lies beyond the edges.',
  restore: 'Removes JPEG artifacts from the active layer.',
} as const;

export function TaskPicker() {
  const { store } = usePanel();
  const { task } = usePanelState();
  return (
    <Flex direction="column" gap="size-50">
    <Flex wrap gap="size-50">
      {PANEL_TASKS.map((t) => (
        <ToggleButton
          key={t}
          data-testid={`task-${t}`}
          isSelected={task === t}
          isEmphasized
          onChange={() => store.dispatch({ type: 'task/select', task: t })}
          aria-label={`${TASK_LABELS[t].label} (${TASK_LABELS[t].source})`}
          flexGrow={1}
        >
          <Text>{TASK_LABELS[t].label}</Text>
        </ToggleButton>
      ))}
    </Flex>
    <Text UNSAFE_style={{ opacity: 0.75, fontSize: '0.85em' }}>
      {TASK_HINTS[task]} No prompt needed: Palette fills from the surroundings.
    </Text>
    </Flex>
  );
}
