namespace Berth.Node.Kubelet.Logs;

/// <summary>
/// Serves a container log (upstream pkg/kubelet/kuberuntime/logs/logs.go ReadLogs) from a CRI log file
/// and, unlike upstream, from its rotated predecessors too.
/// </summary>
public static class ContainerLogReader
{
    // How often a follower looks for new lines, a rotation and the container's end.
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Writes the log's content to <paramref name="output"/>. With Follow it keeps waiting for new lines,
    /// across rotations, until <paramref name="isRunning"/> turns false (then drains what is left) or
    /// <paramref name="ct"/> is cancelled (OperationCanceledException). <paramref name="isRunning"/> should
    /// stay true until the writer's pumps have returned, so the container's last lines are not missed.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither the log nor a rotated predecessor exists.</exception>
    public static async Task ReadAsync(string path, LogOptions options, Stream output, Func<bool> isRunning, CancellationToken ct)
    {
        var sink = new LogSink(options, output);
        var (rotated, current) = OpenChain(path, after: null);
        if (current is null && rotated.Count == 0)
        {
            throw new FileNotFoundException($"failed to open log file \"{path}\"", path);
        }
        try
        {
            if (options.TailLines is { } tail)
            {
                SeekTail(rotated, current, tail);
            }
            while (true)
            {
                foreach (var file in rotated)
                {
                    await file.DrainAsync(sink, ct).ConfigureAwait(false);
                    await file.FinishAsync(sink, ct).ConfigureAwait(false);
                }
                DisposeAll(rotated);
                rotated = [];
                if (current is null || sink.Done)
                {
                    if (!options.Follow || sink.Done || !isRunning())
                    {
                        return;
                    }
                    // Between a rotation's rename and the new file's creation: wait for the new file.
                    await Task.Delay(s_pollInterval, ct).ConfigureAwait(false);
                    current = LogFile.TryOpen(path);
                    continue;
                }
                var next = await FollowAsync(path, current, options.Follow, sink, isRunning, ct).ConfigureAwait(false);
                if (next is null)
                {
                    return;
                }
                (rotated, current) = next.Value;
            }
        }
        finally
        {
            DisposeAll(rotated);
            current?.Dispose();
        }
    }

    // Reads the live file to its end; when following, waits for more until the container stops. Returns the
    // files to continue with when the live file was rotated away, or null when done.
    private static async Task<(List<LogFile> Rotated, LogFile? Current)?> FollowAsync(
        string path, LogFile current, bool follow, LogSink sink, Func<bool> isRunning, CancellationToken ct)
    {
        while (true)
        {
            // Sampled before the read: whatever was written before the container stopped is still drained.
            var running = follow && isRunning();
            await current.DrainAsync(sink, ct).ConfigureAwait(false);
            if (!follow || sink.Done)
            {
                await current.FinishAsync(sink, ct).ConfigureAwait(false);
                return null;
            }
            if (WasRotated(path, current))
            {
                // Nothing is appended to a rotated file any more: what is left in it is all there is.
                await current.DrainAsync(sink, ct).ConfigureAwait(false);
                await current.FinishAsync(sink, ct).ConfigureAwait(false);
                var next = OpenChain(path, after: current);
                current.Dispose();
                return next;
            }
            if (!running)
            {
                await current.FinishAsync(sink, ct).ConfigureAwait(false);
                return null;
            }
            await Task.Delay(s_pollInterval, ct).ConfigureAwait(false);
        }
    }

    private static bool WasRotated(string path, LogFile current)
    {
        using var live = LogFile.TryOpen(path);
        if (live is null)
        {
            return false;
        }
        if (current.Identity().Length == 0)
        {
            // An empty file is never rotated, but the path may now name a file with content ours lacks.
            var liveLength = live.Length;
            return current.Length < liveLength;
        }
        return !current.IsSameFile(live);
    }

    // Opens the live file first, then the rotated ones (oldest first), so a rotation in between shows up as
    // the live file appearing among the rotated ones, which is dropped, rather than as a file missed.
    // With after, only the rotated files newer than that one are kept; if it is gone (pruned oldest first),
    // all rotated files are newer.
    private static (List<LogFile> Rotated, LogFile? Current) OpenChain(string path, LogFile? after)
    {
        var current = LogFile.TryOpen(path);
        var rotated = new List<LogFile>();
        foreach (var name in RotatedLogs.List(path))
        {
            var file = LogFile.TryOpen(name);
            if (file is null)
            {
                continue;
            }
            if (current is not null && file.IsSameFile(current))
            {
                file.Dispose();
                continue;
            }
            if (after is not null && file.IsSameFile(after))
            {
                DisposeAll(rotated);
                rotated.Clear();
                file.Dispose();
                continue;
            }
            rotated.Add(file);
        }
        return (rotated, current);
    }

    private static void SeekTail(List<LogFile> rotated, LogFile? current, long lines)
    {
        var chain = new List<LogFile>(rotated);
        if (current is not null)
        {
            chain.Add(current);
        }
        var (index, offset) = LogFile.FindTailStart(chain, lines);
        chain[index].Offset = offset;
        for (var i = 0; i < Math.Min(index, rotated.Count); i++)
        {
            rotated[i].Dispose();
        }
        rotated.RemoveRange(0, Math.Min(index, rotated.Count));
    }

    private static void DisposeAll(List<LogFile> files)
    {
        foreach (var file in files)
        {
            file.Dispose();
        }
    }
}
