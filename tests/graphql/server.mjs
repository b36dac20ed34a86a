// A GraphQL test server for the `graphql` source: graphql-yoga (from .tools/graphql, installed
// by tests/tools.sh) over the reference fixture's schema, with deterministic data.
//
//   node tests/graphql/server.mjs --port 4000 [--docs 2500] [--token T] [--basic user:pass]
//
// (or DOC_COUNT, GRAPHQL_TOKEN, GRAPHQL_BASIC in the environment; GRAPHQL_MODULES for another
// node_modules folder's parent).
//
// Schema: `sampleData.users(after, first)` is a cursor connection over DOC_COUNT users (2500 by
// default): cursors are base64 offsets, as in the reference's fixture, and a page holds `first`
// users (100 by default). `failing` always fails (HTTP 200 with `errors`); `looping` answers the
// same `endCursor` forever.
//
// The path ends with /graphql; the segments before it choose a behaviour, and may be combined:
//   bearer         requires `Authorization: Bearer <token>` (401 otherwise) when a token is set
//   basic          requires Basic credentials, Latin-1 encoded (401 otherwise) when they are set
//   key-<name>     records each request; GET /requests/<name> lists them
//   flaky          every other request of a key answers 429 (Retry-After: 0), the first included
//   status-<code>  answers that status, with a GraphQL `errors` body
//   html           answers 200 with an HTML page
//   delay-<ms>     answers after that many milliseconds
//   data-<name>    `sampleData.users` serves the array of users in <data dir>/<name>.json
//                  (re-read on every request, so a test changes the data by rewriting it)
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function option(name, env) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  return process.env[env];
}

const here = dirname(fileURLToPath(import.meta.url));
const modules = option('modules', 'GRAPHQL_MODULES') ?? resolve(here, '../../.tools/graphql');
const require = createRequire(join(modules, 'package.json'));
const { createSchema, createYoga } = require('graphql-yoga');
const { GraphQLError } = require('graphql');

const port = Number(option('port', 'PORT') ?? 4000);
const docCount = Number(option('docs', 'DOC_COUNT') ?? 2500);
const token = option('token', 'GRAPHQL_TOKEN');
const basic = option('basic', 'GRAPHQL_BASIC');
const dataDir = option('data-dir', 'GRAPHQL_DATA_DIR');

const FIRST_NAMES = ['Ada', 'Grace', 'Linus', 'Émile', 'Zoë', "O'Brien", 'Søren', '李'];
const CITIES = ['Amsterdam', 'São Paulo', 'Zürich', 'Kyoto'];

/** User `i`: the same for every run and request. */
export function user(i) {
  return {
    id: `user_${i}`,
    index: i,
    first_name: `${FIRST_NAMES[i % FIRST_NAMES.length]} ${i}`,
    updatedAt: '2023-04-20T09:32:54Z',
    description: `User number ${i}: "quoted", naïve café — line\nbreak`,
    address: i % 4 === 0 ? null : { city: CITIES[i % CITIES.length], zip: String(10000 + i) },
    tags: i % 3 === 0 ? [] : [`tag${i % 5}`, 'all'],
  };
}

const b64 = (s) => Buffer.from(String(s)).toString('base64');

function page(start, first, data) {
  const end = start + first;
  const count = data ? data.length : docCount;
  const nodes = [];
  for (let i = start; i < Math.min(end, count); i++) nodes.push(data ? data[i] : user(i));
  return {
    nodes,
    pageInfo: {
      hasNextPage: end < count,
      hasPreviousPage: start > 0,
      startCursor: b64(start + 1),
      endCursor: b64(end),
    },
  };
}

const typeDefs = /* GraphQL */ `
  type Query {
    sampleData: SampleData!
    failing: String
    looping(after: String): UserConnection!
  }
  type SampleData {
    users(after: String, first: Int): UserConnection!
    total: Int!
  }
  type UserConnection {
    nodes: [User!]!
    pageInfo: PageInfo!
  }
  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }
  type User {
    id: ID!
    index: Int!
    first_name: String
    updatedAt: String
    description: String
    address: Address
    tags: [String!]!
  }
  type Address {
    city: String
    zip: String
  }
`;

const resolvers = {
  Query: {
    sampleData: () => ({}),
    failing: () => {
      throw new GraphQLError('failing on purpose');
    },
    looping: () => ({
      nodes: [user(1), user(2)],
      pageInfo: { hasNextPage: true, hasPreviousPage: false, startCursor: 'loop', endCursor: 'loop' },
    }),
  },
  SampleData: {
    total: () => docCount,
    users: (_, { after, first }, context) => {
      const name = context.request.headers.get('x-test-data');
      const data =
        name && dataDir ? JSON.parse(readFileSync(join(dataDir, `${name}.json`), 'utf8')) : null;
      const size = first ?? 100;
      if (size < 1) throw new GraphQLError(`first must be positive, not ${size}`);
      let start = 0;
      if (after) {
        start = Number(Buffer.from(after, 'base64').toString());
        if (!Number.isInteger(start) || start < 0) throw new GraphQLError(`invalid cursor ${after}`);
      }
      return page(start, size, data);
    },
  },
};

const yoga = createYoga({
  schema: createSchema({ typeDefs, resolvers }),
  graphqlEndpoint: '/graphql',
  maskedErrors: false,
  landingPage: false,
  graphiql: false,
  logging: false,
});

const records = new Map();
const flakyCounts = new Map();

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function handle(req, res) {
  const url = new URL(req.url, `http://127.0.0.1:${port}`);
  const parts = url.pathname.split('/').filter(Boolean);
  if (req.method === 'GET' && parts.length === 2 && parts[0] === 'requests') {
    return send(res, 200, records.get(parts[1]) ?? []);
  }
  if (parts.at(-1) !== 'graphql') return send(res, 404, { error: 'not found' });
  const flags = parts.slice(0, -1);
  const body = await readBody(req);
  const key = flags.find((f) => f.startsWith('key-'))?.slice(4);
  if (key) {
    let parsed = body.toString();
    try {
      parsed = JSON.parse(parsed);
    } catch {
      // kept as text
    }
    const list = records.get(key) ?? [];
    list.push({
      method: req.method,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization ?? null,
      contentType: req.headers['content-type'] ?? null,
      headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('x-'))),
      body: body.length ? parsed : null,
    });
    records.set(key, list);
  }
  const unauthorized = () => send(res, 401, { errors: [{ message: 'Unauthorized' }] });
  if (flags.includes('bearer') && token && req.headers.authorization !== `Bearer ${token}`) {
    return unauthorized();
  }
  if (
    flags.includes('basic') &&
    basic &&
    // Latin-1, as aiohttp (the reference's client) encodes Basic credentials.
    req.headers.authorization !== `Basic ${Buffer.from(basic, 'latin1').toString('base64')}`
  ) {
    return unauthorized();
  }
  if (flags.includes('flaky')) {
    const n = (flakyCounts.get(key) ?? 0) + 1;
    flakyCounts.set(key, n);
    if (n % 2 === 1) return send(res, 429, { errors: [{ message: 'slow down' }] }, { 'retry-after': '0' });
  }
  const delay = flags.find((f) => f.startsWith('delay-'));
  if (delay) await new Promise((done) => setTimeout(done, Number(delay.slice(6))));
  const status = flags.find((f) => f.startsWith('status-'));
  if (status) {
    const code = Number(status.slice(7));
    return send(res, code, { errors: [{ message: `status ${code}` }] });
  }
  if (flags.includes('html')) {
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end('<html><body>not GraphQL</body></html>');
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === 'string') headers.set(k, v);
  }
  const data = flags.find((f) => f.startsWith('data-'));
  if (data) headers.set('x-test-data', data.slice(5));
  const target = new URL(`/graphql${url.search}`, url);
  const response = await yoga.fetch(target, {
    method: req.method,
    headers,
    body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
  });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

createServer((req, res) => {
  handle(req, res).catch((e) => send(res, 500, { errors: [{ message: String(e) }] }));
}).listen(port, '127.0.0.1', () => {
  console.log(`graphql test server on http://127.0.0.1:${port}/graphql (${docCount} users)`);
});
