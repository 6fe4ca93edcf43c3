import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, Browser } from 'playwright-core';
import { RunningServer } from '../../src/server';
import { startTestApi } from '../helpers/api';
import { createTestDatabase, TestDatabase } from '../helpers/database';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const describeWithBrowser = existsSync(CHROMIUM) ? describe : describe.skip;
if (!existsSync(CHROMIUM))
  console.warn(
    `playground browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );

describeWithBrowser('GraphiQL playground in headless Chromium', () => {
  let db: TestDatabase;
  let api: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(
      `INSERT INTO movies (id, title, year, genres) VALUES (42, 'Heat', 1995, '{Action,Crime}')`,
    );
    api = await startTestApi(db.dataSource);
    browser = await chromium.launch({
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
  });

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await db?.drop();
  });

  it('loads offline from the server’s own assets, runs a query and shows the result', async () => {
    const page = await browser.newPage();
    const foreignRequests: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(api.url.replace(/\/graphql$/, ''))) foreignRequests.push(request.url());
    });
    await page.goto(api.url, { waitUntil: 'load' });
    await page.waitForSelector('.graphiql-container', { timeout: 30_000 });
    // GraphiQL finishes wiring its editors after the first paint; set the query and run it until it answers.
    let answered = false;
    for (let attempt = 0; attempt < 10 && !answered; attempt++) {
      await page.evaluate(() => {
        const editor = (
          (globalThis as any).document.querySelector('.graphiql-query-editor .CodeMirror') as any
        )?.CodeMirror;
        editor?.setValue('{ movie(id: 42) { title year genres } }');
      });
      await page.click('.graphiql-execute-button');
      answered = await page
        .waitForFunction(
          () =>
            (globalThis as any).document
              .querySelector('.graphiql-response')
              ?.textContent?.includes('"title": "Heat"'),
          undefined,
          { timeout: 3_000 },
        )
        .then(
          () => true,
          () => false,
        );
    }
    expect(answered).toBe(true);
    const response = await page.textContent('.graphiql-response');
    expect(response).toContain('"year": 1995');
    expect(foreignRequests.filter((u) => !u.startsWith('data:'))).toEqual([]);
  });
  it('loads the schema with the default limits: the Docs pane lists Query and its fields', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(api.url, { waitUntil: 'load' });
    await page.waitForSelector('.graphiql-container', { timeout: 30_000 });
    await page.click('[aria-label="Show Documentation Explorer"]');
    await page.waitForSelector('.graphiql-doc-explorer', { timeout: 10_000 });
    // GraphiQL introspects on load; an over-eager depth limit answered it with "Error fetching schema".
    const rootType = page
      .locator('.graphiql-doc-explorer-content a.graphiql-doc-explorer-type-name')
      .getByText('Query', { exact: true });
    const loaded = await Promise.race([
      rootType
        .first()
        .waitFor({ timeout: 20_000 })
        .then(() => 'schema'),
      page
        .waitForSelector('.graphiql-doc-explorer-error', { timeout: 20_000 })
        .then(async (error) => String(await error?.textContent())),
    ]);
    expect(loaded).toBe('schema');
    await rootType.first().click();
    await page.waitForSelector('.graphiql-doc-explorer-field-name', { timeout: 10_000 });
    const fields = await page.locator('.graphiql-doc-explorer-field-name').allTextContents();
    expect(fields).toEqual(expect.arrayContaining(['recommendations', 'movie', 'trending', 'search']));
    expect(await page.textContent('.graphiql-doc-explorer-title')).toContain('Query');
    const screenshot = path.join(os.tmpdir(), `cinegraph-graphiql-docs-${process.pid}.png`);
    await page.screenshot({ path: screenshot });
    console.log(`GraphiQL Docs pane screenshot: ${screenshot}`);
  });
});
