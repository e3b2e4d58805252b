namespace Berth.Api.Models;

/// <summary>A Kubernetes list kind (<c>PodList</c>, ...): list metadata and items of one kind.</summary>
public interface IKubernetesList
{
    /// <summary>The <c>apiVersion</c> field.</summary>
    string? ApiVersion { get; set; }

    /// <summary>The <c>kind</c> field, e.g. <c>PodList</c>.</summary>
    string? Kind { get; set; }

    /// <summary>The list's <c>metadata</c> (<c>resourceVersion</c>, <c>continue</c>).</summary>
    ListMeta? Metadata { get; set; }

    /// <summary>The items without knowing their type; empty when <c>items</c> is null.</summary>
    IEnumerable<IKubernetesObject> EnumerateItems();
}

/// <summary>A Kubernetes list kind whose items are <typeparamref name="T"/>.</summary>
public interface IKubernetesList<T> : IKubernetesList
    where T : class, IKubernetesObject
{
    /// <summary>The <c>items</c> field.</summary>
    List<T>? Items { get; set; }

    IEnumerable<IKubernetesObject> IKubernetesList.EnumerateItems() => Items ?? Enumerable.Empty<IKubernetesObject>();
}
