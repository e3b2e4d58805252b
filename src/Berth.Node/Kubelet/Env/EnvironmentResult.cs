using System.Diagnostics.CodeAnalysis;

namespace Berth.Node.Kubelet.Env;

/// <summary>A container's environment, or why it cannot be made (the caller reports CreateContainerConfigError).</summary>
public sealed class EnvironmentResult
{
    private EnvironmentResult(IReadOnlyList<KeyValuePair<string, string>> variables, IReadOnlyList<string> warnings, string? message)
    {
        Variables = variables;
        Warnings = warnings;
        Message = message;
    }

    [MemberNotNullWhen(false, nameof(Message))]
    public bool Succeeded => Message is null;

    /// <summary>The variables in order, each name once.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Variables { get; }

    /// <summary>Things skipped that the pod's events should tell about.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Why the environment could not be made; null on success.</summary>
    public string? Message { get; }

    public static EnvironmentResult Success(IReadOnlyList<KeyValuePair<string, string>> variables, IReadOnlyList<string> warnings) =>
        new(variables, warnings, null);

    public static EnvironmentResult Failure(string message) => new([], [], message);
}
