using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Api.Serialization;

namespace Berth.Client;

public sealed partial class KubeClient
{
    /// <summary>
    /// A client for the current context of a kubeconfig (the one <c>berth server</c> writes): the cluster's
    /// <c>server</c> and <c>certificate-authority-data</c> (or <c>certificate-authority</c> file), the user's
    /// <c>token</c> (or <c>tokenFile</c>).
    /// </summary>
    public static KubeClient FromKubeconfig(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new KubeClient(ReadKubeconfig(path));
    }

    internal static KubeClientOptions ReadKubeconfig(string path)
    {
        var documents = YamlJson.ParseDocuments(File.ReadAllText(path));
        if (documents.Count == 0 || documents[0] is not JsonObject config)
        {
            throw new InvalidDataException($"{path}: not a kubeconfig");
        }

        var contextName = Text(config["current-context"]) ?? throw Invalid(path, "no current-context");
        var context = Named(config, "contexts", contextName, "context") ?? throw Invalid(path, $"context \"{contextName}\" not found");
        var clusterName = Text(context["cluster"]) ?? throw Invalid(path, $"context \"{contextName}\" names no cluster");
        var cluster = Named(config, "clusters", clusterName, "cluster") ?? throw Invalid(path, $"cluster \"{clusterName}\" not found");
        var userName = Text(context["user"]);
        var user = userName is null ? null : Named(config, "users", userName, "user");

        var server = Text(cluster["server"]) ?? throw Invalid(path, $"cluster \"{clusterName}\" has no server");
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        string? caPem = null;
        if (Text(cluster["certificate-authority-data"]) is { } caData)
        {
            caPem = Encoding.UTF8.GetString(Convert.FromBase64String(caData));
        }
        else if (Text(cluster["certificate-authority"]) is { } caFile)
        {
            caPem = File.ReadAllText(Path.Combine(baseDir, caFile));
        }

        var token = Text(user?["token"]);
        if (token is null && Text(user?["tokenFile"]) is { } tokenFile)
        {
            token = File.ReadAllText(Path.Combine(baseDir, tokenFile)).Trim();
        }

        return new KubeClientOptions
        {
            Server = new Uri(server),
            Token = token ?? throw Invalid(path, $"user \"{userName}\" has no token"),
            CertificateAuthority = caPem is null ? null : X509Certificate2.CreateFromPem(caPem),
        };
    }

    private static JsonObject? Named(JsonObject config, string listName, string name, string field) =>
        (config[listName] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(e => Text(e["name"]) == name)?[field] as JsonObject;

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) && text.Length != 0 ? text : null;

    private static InvalidDataException Invalid(string path, string problem) => new($"{path}: {problem}");
}
