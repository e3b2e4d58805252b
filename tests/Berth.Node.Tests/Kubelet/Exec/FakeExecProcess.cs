using System.Collections.Concurrent;
using System.IO.Pipelines;
using Berth.Node.Kubelet.Exec;

namespace Berth.Node.Tests.Kubelet.Exec;

// A command made of pipes: the test writes its output, reads its input and decides when it exits.
internal sealed class FakeExecProcess : IExecProcess
{
    private readonly TaskCompletionSource<int> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public FakeExecProcess(bool stdin = true, bool stderr = true)
    {
        Stdin = stdin ? StdinPipe.Writer.AsStream() : null;
        Stdout = StdoutPipe.Reader.AsStream();
        Stderr = stderr ? StderrPipe.Reader.AsStream() : null;
    }

    public Pipe StdinPipe { get; } = new();
    public Pipe StdoutPipe { get; } = new();
    public Pipe StderrPipe { get; } = new();
    public ConcurrentQueue<(ushort Columns, ushort Rows)> Resizes { get; } = new();
    public TaskCompletionSource Resized { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public TaskCompletionSource Killed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Stream? Stdin { get; }
    public Stream Stdout { get; }
    public Stream? Stderr { get; }
    public Task<int> ExitCode => _exit.Task;

    public void Resize(ushort columns, ushort rows)
    {
        Resizes.Enqueue((columns, rows));
        Resized.TrySetResult();
    }

    public void Kill()
    {
        Killed.TrySetResult();
        Exit(137);
    }

    public void Exit(int code)
    {
        StdoutPipe.Writer.Complete();
        StderrPipe.Writer.Complete();
        _exit.TrySetResult(code);
    }
}
