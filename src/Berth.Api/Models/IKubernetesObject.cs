namespace Berth.Api.Models;

/// <summary>
/// A top-level Kubernetes kind with object metadata (Pod, Service, ...): what the API server stores
/// and serves, keyed by <c>metadata.namespace</c>/<c>metadata.name</c>.
/// </summary>
public interface IKubernetesObject
{
    /// <summary>The <c>apiVersion</c> field, e.g. <c>v1</c> or <c>apps/v1</c>; null when the sender left it out.</summary>
    string? ApiVersion { get; set; }

    /// <summary>The <c>kind</c> field, e.g. <c>Pod</c>; null when the sender left it out.</summary>
    string? Kind { get; set; }

    /// <summary>The object's <c>metadata</c>.</summary>
    ObjectMeta? Metadata { get; set; }
}
