// vm/runtime/run-tool.ts: the one way vm/ runs a tool, and what a failure tells the user.

import { describe, expect, it } from 'vitest';
import { ToolError, lastLines, runTool } from '../../vm/runtime/run-tool.js';

describe('runTool', () => {
  it('returns stdout, as text or bytes', async () => {
    expect(await runTool('sh', ['-c', 'echo hi'], { what: 'saying hi' })).toBe('hi');
    const bytes = await runTool('sh', ['-c', 'printf "\\001\\377"'], { what: 'bytes', binary: true });
    expect([...bytes]).toEqual([1, 255]);
    expect(await runTool('cat', [], { what: 'echoing', input: 'in' })).toBe('in');
  });

  it('says what failed, its exit status and only its last lines', async () => {
    const err = await runTool('sh', ['-c', 'for i in 1 2 3 4 5; do echo line$i >&2; done; exit 3'], { what: 'counting', lines: 2 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).message).toBe('counting failed (exit 3):\nline4\nline5');
    expect((err as ToolError).exitCode).toBe(3);
    expect((err as ToolError).output).toContain('line1');
  });

  it('falls back to stdout when the tool printed nothing on stderr', async () => {
    await expect(runTool('sh', ['-c', 'echo out; exit 1'], { what: 'quiet' })).rejects.toThrow(/^quiet failed \(exit 1\):\nout$/);
  });

  it('names a tool that is not there', async () => {
    await expect(runTool('mprog-no-such-tool', [], { what: 'looking' })).rejects.toThrow(/^looking failed .*mprog-no-such-tool/s);
  });

  it('lastLines keeps the end without trailing white space', () => {
    expect(lastLines('a\nb\nc\n\n', 2)).toBe('b\nc');
  });
});
