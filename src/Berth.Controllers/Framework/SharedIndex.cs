using Berth.Api.Models;
using Berth.Client;

namespace Berth.Controllers.Framework;

/// <summary>
/// Indexes on shared informers: every controller that needs an index asks for it, and the first one adds it
/// (upstream checks the informer's indexers first too).
/// </summary>
internal static class SharedIndex
{
    /// <summary>Adds index <paramref name="name"/> unless another controller sharing the informer already did.</summary>
    public static void Add<T>(Informer<T> informer, string name, Func<T, IEnumerable<string>> keys)
        where T : class, IKubernetesObject
    {
        ArgumentNullException.ThrowIfNull(informer);
        try
        {
            informer.AddIndex(name, keys);
        }
        catch (InvalidOperationException) when (Exists(informer, name))
        {
            // Registered by another controller: the same index under the same name.
        }
    }

    private static bool Exists<T>(Informer<T> informer, string name)
        where T : class, IKubernetesObject
    {
        try
        {
            informer.ByIndex(name, "");
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
