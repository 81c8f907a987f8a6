/** The whole panel, top to bottom: status, banner, task, settings, Generate, progress, preview, variants, history. */
import { Divider, Flex, View } from '@adobe/react-spectrum';
import { ConnectionLine } from './connection-line.tsx';
import { ErrorBanner } from './error-banner.tsx';
import { HistoryList } from './history-list.tsx';
import { GenerateButtons, JobProgress, KeepPlaceholder, LivePreview, VariantStripView } from './job-view.tsx';
import { usePanelState } from './panel-context.ts';
import { TaskPicker } from './task-picker.tsx';
import { TaskSettingsView } from './task-settings.tsx';

export function Panel() {
  const { job, strip } = usePanelState();
  return (
    <View padding="size-150" minWidth="size-3000">
      <Flex direction="column" gap="size-150">
        <ConnectionLine />
        <ErrorBanner />
        <TaskPicker />
        <TaskSettingsView />
        <GenerateButtons />
        {job && <JobProgress job={job} />}
        <LivePreview />
        {strip ? <VariantStripView /> : <KeepPlaceholder />}
        <Divider size="S" />
        <HistoryList />
      </Flex>
    </View>
  );
}
