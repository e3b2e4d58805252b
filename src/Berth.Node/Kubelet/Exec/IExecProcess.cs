namespace Berth.Node.Kubelet.Exec;

/// <summary>A command started in a container for `kubectl exec`, as the streaming protocol sees it.</summary>
public interface IExecProcess
{
    /// <summary>The command's stdin; null when the client did not ask for stdin.</summary>
    Stream? Stdin { get; }

    Stream Stdout { get; }

    /// <summary>The command's stderr; null with a TTY, where stderr is merged into stdout.</summary>
    Stream? Stderr { get; }

    Task<int> ExitCode { get; }

    void Resize(ushort columns, ushort rows);

    void Kill();
}
