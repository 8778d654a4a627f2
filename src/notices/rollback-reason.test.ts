import { test } from 'node:test';
import assert from 'node:assert/strict';
import { switchSteps } from '../core/upgrade/switch-failure.ts';
import { noticeLanguages } from './notice.ts';
import { rollbackReason } from './rollback-reason.ts';

test('every step has its own words in every language, none naming a relay or a reply', () => {
  for (const language of noticeLanguages) {
    const seen = new Set<string>();
    for (const step of switchSteps) {
      const reason = rollbackReason(step, language);
      assert.ok(reason.length > 10, `${language} ${step}`);
      assert.doesNotMatch(reason, /\d|:/, `${language} ${step}: ${reason}`);
      if (step !== 'roll-back') assert.ok(!seen.has(reason), `${language} ${step} shares its words with another step`);
      seen.add(reason);
    }
  }
});

test('the reason follows the step, not any detail, in the contact’s language', () => {
  assert.equal(rollbackReason('verify', 'en-GB'), 'a test message through the new sending infrastructure was not accepted');
  assert.equal(rollbackReason('window', 'es_MX.UTF-8'), 'la ventana de mantenimiento se cerró antes de que terminara el cambio');
  assert.equal(rollbackReason('drain', 'fr'), rollbackReason('drain', 'en'), 'a language without templates falls back to English');
  assert.notEqual(rollbackReason('pre-check', 'es'), rollbackReason('pre-check', 'en'));
});

test('a step not known (an older switch row) gets a general reason', () => {
  assert.equal(rollbackReason(null, 'en'), 'a step of the switch did not complete');
  assert.equal(rollbackReason(null, 'es'), 'un paso del cambio no se completó');
});
