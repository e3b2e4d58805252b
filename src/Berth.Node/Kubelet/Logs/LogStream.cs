namespace Berth.Node.Kubelet.Logs;

/// <summary>The container output stream a CRI log record came from.</summary>
public enum LogStream
{
    Stdout,
    Stderr,
}
