namespace Berth.Node.Proxy.Userspace.Udp;

/// <summary>
/// Counts the receive loops still running so disposal can wait for the last one. Loops are started without keeping
/// their tasks (flows come and go per client); the count starts at one for the owner, dropped by <see cref="StopAsync"/>.
/// </summary>
internal sealed class RunningLoops
{
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _count = 1;

    /// <summary>Called before a loop starts, by the owner or by a loop that is itself counted.</summary>
    public void Enter() => Interlocked.Increment(ref _count);

    public void Exit()
    {
        if (Interlocked.Decrement(ref _count) == 0)
        {
            _stopped.TrySetResult();
        }
    }

    /// <summary>Once, after every socket is closed: completes when every loop has ended.</summary>
    public Task StopAsync()
    {
        Exit();
        return _stopped.Task;
    }
}
