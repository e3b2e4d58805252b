using Berth.Api.Models;
using Berth.Client;
using Berth.Controllers.Framework;

namespace Berth.Controllers.NodeLifecycle;

/// <summary>
/// The pod informer's index by spec.nodeName (upstream controller.AddPodNodeNameIndexer), so a node's pods are found
/// without scanning every pod. Controllers sharing the informer add it once between them.
/// </summary>
internal static class PodNodeNameIndex
{
    public const string Name = "spec.nodeName";

    public static void Add(Informer<Pod> pods) =>
        SharedIndex.Add(pods, Name, static pod => pod.Spec?.NodeName is { Length: > 0 } node ? [node] : []);

    public static IReadOnlyList<Pod> PodsOn(Informer<Pod> pods, string nodeName) => pods.ByIndex(Name, nodeName);
}
