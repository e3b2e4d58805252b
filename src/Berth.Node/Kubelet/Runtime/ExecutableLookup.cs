using System.Runtime.InteropServices;
using System.Text;
using Berth.Node.Kubelet.Runtime.Native;
using Berth.Node.Native;

namespace Berth.Node.Kubelet.Runtime;

/// <summary>
/// Resolves a container's command the way runc does before exec (Go's os/exec LookPath, lp_unix.go), so a bad
/// command fails at start with runc's message.
/// </summary>
public static class ExecutableLookup
{
    /// <summary>The PATH runc and containerd give a container whose image sets none.</summary>
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>
    /// A command containing '/' is taken as a path (relative to <paramref name="workingDirectory"/>, else the
    /// agent's current directory); otherwise it is searched in <paramref name="pathVariable"/> (else <see cref="DefaultPath"/>).
    /// On success <paramref name="fullPath"/> is absolute; on failure <paramref name="error"/> is runc's text,
    /// e.g. <c>exec: "foo": executable file not found in $PATH</c>.
    /// </summary>
    public static bool TryResolve(string command, string? pathVariable, string? workingDirectory, out string fullPath, out string error)
    {
        PlatformGuard.EnsureSupported();
        string baseDirectory = workingDirectory ?? Directory.GetCurrentDirectory();
        fullPath = "";
        error = "";

        if (command.Contains('/'))
        {
            string candidate = Path.GetFullPath(command, baseDirectory);
            string? problem = FindExecutable(candidate, command);
            if (problem is not null)
            {
                error = $"exec: {GoQuote(command)}: {problem}";
                return false;
            }

            fullPath = candidate;
            return true;
        }

        foreach (string entry in (pathVariable ?? DefaultPath).Split(':'))
        {
            // Unix shell semantics: an empty PATH element means ".".
            string directory = entry.Length == 0 ? "." : entry;
            string candidate = Path.GetFullPath(Path.Join(directory, command), baseDirectory);
            if (FindExecutable(candidate, candidate) is not null)
            {
                continue;
            }

            if (!Path.IsPathRooted(directory))
            {
                // Go 1.19+ (exec.ErrDot): a command found through a relative PATH entry is refused.
                error = $"exec: {GoQuote(command)}: cannot run executable found relative to current directory";
                return false;
            }

            fullPath = candidate;
            return true;
        }

        error = $"exec: {GoQuote(command)}: executable file not found in $PATH";
        return false;
    }

    // lp_unix.go findExecutable: stat, refuse directories, then access(X_OK), falling back to the mode bits
    // where access is unavailable (ENOSYS) or filtered (EPERM under seccomp). Non-regular files are refused as
    // execve would refuse them (EACCES).
    private static unsafe string? FindExecutable(string path, string shownPath)
    {
        LibC.Statx stat;
        if (LibC.StatX(LibC.AtFdCwd, path, 0, LibC.StatxType | LibC.StatxMode, &stat) != 0)
        {
            return $"stat {shownPath}: {LibC.ErrorText(Marshal.GetLastPInvokeError())}";
        }

        int type = stat.Mode & LibC.SIfMt;
        if (type == LibC.SIfDir)
        {
            return LibC.ErrorText(LibC.EISDIR);
        }

        if (type != LibC.SIfReg)
        {
            return LibC.ErrorText(LibC.EACCES);
        }

        if (LibC.Access(path, LibC.XOk) == 0)
        {
            return null;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno is not (LibC.ENOSYS or LibC.EPERM))
        {
            return LibC.ErrorText(errno);
        }

        return (stat.Mode & 0b001_001_001) != 0 ? null : LibC.ErrorText(LibC.EACCES);
    }

    // strconv.Quote for the texts a command can hold.
    internal static string GoQuote(string value)
    {
        var quoted = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            _ = c switch
            {
                '"' => quoted.Append("\\\""),
                '\\' => quoted.Append("\\\\"),
                '\n' => quoted.Append("\\n"),
                '\r' => quoted.Append("\\r"),
                '\t' => quoted.Append("\\t"),
                < ' ' or '\x7f' => quoted.Append("\\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture)),
                _ => quoted.Append(c),
            };
        }

        return quoted.Append('"').ToString();
    }
}
