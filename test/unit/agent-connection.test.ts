// The agent's host side when the other end is no agent: a peer that never says READY and one that
// exits at once (the agent itself, on the running kernel: test/host/agent.test.ts).

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AgentClient } from '../../vm/agent/client.js';

describe('agent connection failures', () => {
  it('a silent peer gives TargetError timeout', async () => {
    const peer = spawn('sleep', ['30'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await expect(AgentClient.connect({ input: peer.stdout, output: peer.stdin }, { deadlineMs: 300, waitReady: true })).rejects.toMatchObject({
        kind: 'timeout',
        message: expect.stringMatching(/READY/),
      });
    } finally {
      peer.kill();
    }
  });

  it('a peer that exits gives TargetError agent-lost', async () => {
    const peer = spawn('true', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    peer.stdin.on('error', () => undefined);
    await expect(AgentClient.connect({ input: peer.stdout, output: peer.stdin }, { deadlineMs: 5_000 })).rejects.toMatchObject({
      kind: 'agent-lost',
      message: expect.stringMatching(/closed the connection/),
    });
  });
});
