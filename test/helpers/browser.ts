/**
 * Headless Chromium (Debian package `chromium`) driven by playwright-core, for tests that look at
 * the HTML the CLI writes. Offline by construction: no first-run, sync, component updates or QUIC.
 */
import type { TestContext } from 'node:test';
import type { Browser } from 'playwright-core';

/** Where Debian installs Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/** Launches headless Chromium and closes it when the test ends. */
export async function launchChromium(t: TestContext): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  return browser;
}
