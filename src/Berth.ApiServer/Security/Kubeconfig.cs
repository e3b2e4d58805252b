using System.Text;
using System.Text.Json;

namespace Berth.ApiServer.Security;

/// <summary>Writes the kubeconfig <c>berth server</c> hands to kubectl: one cluster, one token user, one context.</summary>
public static class Kubeconfig
{
    /// <summary>Writes a standard kubeconfig (clusters, users, contexts, current-context) with mode 0600.</summary>
    public static void Write(string path, string serverUrl, string caPem, string token, string contextName = "berth")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(serverUrl);
        ArgumentException.ThrowIfNullOrEmpty(caPem);
        ArgumentException.ThrowIfNullOrEmpty(token);
        ArgumentException.ThrowIfNullOrEmpty(contextName);

        var name = Quote(contextName);
        var yaml = new StringBuilder()
            .Append("apiVersion: v1\n")
            .Append("kind: Config\n")
            .Append("clusters:\n")
            .Append("- name: ").Append(name).Append('\n')
            .Append("  cluster:\n")
            .Append("    server: ").Append(Quote(serverUrl)).Append('\n')
            .Append("    certificate-authority-data: ").Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(caPem))).Append('\n')
            .Append("users:\n")
            .Append("- name: ").Append(name).Append('\n')
            .Append("  user:\n")
            .Append("    token: ").Append(Quote(token)).Append('\n')
            .Append("contexts:\n")
            .Append("- name: ").Append(name).Append('\n')
            .Append("  context:\n")
            .Append("    cluster: ").Append(name).Append('\n')
            .Append("    user: ").Append(name).Append('\n')
            .Append("current-context: ").Append(name).Append('\n')
            .Append("preferences: {}\n")
            .ToString();

        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        // The file holds the token, so only its owner may read it (kubectl warns about nothing, but k3s does the same).
        ClusterCredentials.WriteFile(path, yaml, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    // A JSON string literal is a valid YAML double-quoted scalar, so any character is safe.
    private static string Quote(string value) => JsonSerializer.Serialize(value);
}
