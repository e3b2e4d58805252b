using Berth.Api.Models;
using Berth.Client;

namespace Berth.Controllers.NodeLifecycle;

/// <summary>
/// The pod informer's index by spec.nodeName (upstream controller.AddPodNodeNameIndexer), so a node's pods are found
/// without scanning every pod. Controllers sharing the informer add it once between them.
/// </summary>
internal static class PodNodeNameIndex
{
    public const string Name = "spec.nodeName";

    public static void Add(Informer<Pod> pods)
    {
        try
        {
            pods.AddIndex(Name, static pod => pod.Spec?.NodeName is { Length: > 0 } node ? [node] : []);
        }
        catch (InvalidOperationException) when (HasIndex(pods))
        {
            // Registered by another controller sharing the informer (upstream checks first too).
        }
    }

    public static IReadOnlyList<Pod> PodsOn(Informer<Pod> pods, string nodeName) => pods.ByIndex(Name, nodeName);

    private static bool HasIndex(Informer<Pod> pods)
    {
        try
        {
            pods.ByIndex(Name, "");
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
