using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Node.Kubelet.Runtime.Native;
using Berth.Node.Native;

namespace Berth.Node.Kubelet.Runtime;

/// <summary>The pod container a process was started for.</summary>
public sealed record ProcessOwner(string PodUid, string PodNamespace, string PodName, string Container);

/// <summary>A process recorded by a previous agent; <paramref name="WasRunning"/> when it (or its session) still ran and was ended.</summary>
public sealed record LeftoverProcess(int Pid, ulong StartTime, ProcessOwner Owner, bool WasRunning);

/// <summary>
/// The agent's on-disk record of the processes it started (one small file per process), so that an agent
/// restarted after being SIGKILLed can end what its predecessor left running.
/// </summary>
/// <remarks>
/// Leftovers are ended, not re-adopted: their stdout/stderr pipes died with the previous agent, so an adopted
/// process would run on without logs (and block or die on its next write); the pod worker starts it afresh.
/// </remarks>
public sealed class ProcessRecords(string directory)
{
    private const string Extension = ".json";
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Records <paramref name="process"/> (atomically: a temporary file renamed into place).</summary>
    public void Add(HostProcess process, ProcessOwner owner)
    {
        ArgumentNullException.ThrowIfNull(process);
        Add(process.Pid, process.StartTime, owner);
    }

    internal void Add(int pid, ulong startTime, ProcessOwner owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        Directory.CreateDirectory(directory);
        var record = new ProcessRecordFile(pid, startTime, owner.PodUid, owner.PodNamespace, owner.PodName, owner.Container);
        string path = PathOf(pid);
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(file, record, ProcessRecordJson.Default.ProcessRecordFile);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    public void Remove(int pid)
    {
        try
        {
            File.Delete(PathOf(pid));
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing was ever recorded.
        }
    }

    /// <summary>
    /// Ends every recorded process still running (pid and start time match), with the members of its session even
    /// when the leader is gone: SIGTERM, up to <paramref name="grace"/>, SIGKILL. Logs one line per record, then
    /// deletes the records. For use at agent start, before anything new is recorded.
    /// </summary>
    public IReadOnlyList<LeftoverProcess> EndLeftovers(TimeSpan grace, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(log);
        PlatformGuard.EnsureSupported();
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var found = new List<LeftoverProcess>();
        var files = new List<string>();
        foreach (string path in Directory.EnumerateFiles(directory))
        {
            files.Add(path);
            if (!path.EndsWith(Extension, StringComparison.Ordinal))
            {
                continue;
            }

            ProcessRecordFile? record = Read(path);
            if (record is null)
            {
                log($"ignored unreadable process record {path}");
                continue;
            }

            var owner = new ProcessOwner(record.PodUid, record.PodNamespace, record.PodName, record.Container);
            found.Add(new LeftoverProcess(record.Pid, record.StartTime, owner, IsRunning(record.Pid, record.StartTime)));
        }

        End([.. found.Where(l => l.WasRunning)], grace);
        foreach (LeftoverProcess leftover in found)
        {
            string who = string.Create(
                CultureInfo.InvariantCulture,
                $"process {leftover.Pid} (pod {leftover.Owner.PodNamespace}/{leftover.Owner.PodName}, container {leftover.Owner.Container})");
            log(leftover.WasRunning
                ? $"ended {who} left running by a previous agent"
                : $"{who} recorded by a previous agent had already exited");
        }

        foreach (string path in files)
        {
            File.Delete(path);
        }

        return found;
    }

    // Running means: the leader itself (same pid and start time, not a zombie), or, with the leader gone, any
    // member of its session. A pid number stays allocated while it names a live group or session, so members
    // with that session id are the old session's; but when the pid now names a process with another start
    // time, the old session is empty and that process is a stranger's.
    private static bool IsRunning(int pid, ulong startTime)
    {
        if (ProcFs.TryReadStat(pid, out ProcFs.ProcessStat stat))
        {
            return stat.StartTime == startTime && (stat.State != 'Z' || ProcFs.SessionMembers(pid).Count > 0);
        }

        return ProcFs.SessionMembers(pid).Count > 0;
    }

    private static void End(List<LeftoverProcess> running, TimeSpan grace)
    {
        if (running.Count == 0)
        {
            return;
        }

        foreach (LeftoverProcess leftover in running)
        {
            SessionSignal.Send(leftover.Pid, LibC.SigTerm);
        }

        // Not our children: whoever inherited them (init or a subreaper) reaps them, so this polls /proc.
        DateTime deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline && running.Any(l => IsRunning(l.Pid, l.StartTime)))
        {
            Thread.Sleep(s_pollInterval);
        }

        // Checked again: a session that ended at SIGTERM frees its pid for a stranger.
        foreach (LeftoverProcess leftover in running.Where(l => IsRunning(l.Pid, l.StartTime)))
        {
            SessionSignal.Send(leftover.Pid, LibC.SigKill);
        }
    }

    private static ProcessRecordFile? Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), ProcessRecordJson.Default.ProcessRecordFile);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private string PathOf(int pid) => Path.Combine(directory, pid.ToString(CultureInfo.InvariantCulture) + Extension);
}

internal sealed record ProcessRecordFile(int Pid, ulong StartTime, string PodUid, string PodNamespace, string PodName, string Container);

[JsonSerializable(typeof(ProcessRecordFile))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class ProcessRecordJson : JsonSerializerContext;
