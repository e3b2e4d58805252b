using Berth.Api.Models;

namespace Berth.Node.Kubelet.Env;

/// <summary>
/// The argv a container's process starts with: <c>command</c> then <c>args</c>, each <c>$(VAR)</c> expanded against
/// the container's environment (upstream <c>pkg/kubelet/container/helpers.go</c> ExpandContainerCommandAndArgs).
/// </summary>
public static class ContainerCommand
{
    public static bool TryBuild(Container container, IReadOnlyList<KeyValuePair<string, string>> env, out IReadOnlyList<string> argv, out string error)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(env);
        if (container.Command is not { Count: > 0 } command)
        {
            // Without an image runtime there is no ENTRYPOINT to fall back on.
            var image = string.IsNullOrEmpty(container.Image) ? "an image's entrypoint" : $"the entrypoint of image \"{container.Image}\"";
            argv = [];
            error = $"container \"{container.Name}\" has no command: Berth runs containers as host processes and cannot use {image}; " +
                "set the container's command (and args) to the program to run";
            return false;
        }

        // Later definitions of a name win, as upstream's EnvVarsToMap.
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in env)
        {
            values[name] = value;
        }

        string? Lookup(string name) => values.TryGetValue(name, out var value) ? value : null;
        argv = [.. command.Concat(container.Args ?? []).Select(part => VariableExpansion.Expand(part, Lookup))];
        error = "";
        return true;
    }
}
