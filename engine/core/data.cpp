#include "core/data.h"

#include "core/rng.h"
#include "spec/spec.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>

namespace initscope {
namespace {

namespace fs = std::filesystem;

bool endsWithCsv(const std::string& s) {
    if (s.size() < 5) // a name before the extension
        return false;
    std::string ext = s.substr(s.size() - 4);
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext == ".csv";
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw DataError("data: " + path + " " + what);
}

/// Reads exactly n bytes, or says how many the file had.
void readExactly(gzFile f, const std::string& path, void* out, std::size_t n,
                 const std::string& what) {
    auto* p = static_cast<unsigned char*>(out);
    std::size_t got = 0;
    while (got < n) {
        const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
        const int r = gzread(f, p + got, chunk);
        if (r < 0) {
            int code = 0;
            const char* msg = gzerror(f, &code);
            fail(path, "is not a readable gzip file (" + std::string(msg ? msg : "zlib error") +
                           ") while reading " + what);
        }
        if (r == 0)
            fail(path, "is truncated: " + what + " needs " + std::to_string(n) +
                           " bytes, the file has " + std::to_string(got));
        got += static_cast<std::size_t>(r);
    }
}

// ---- the process-wide cache: path -> (modification time, size, data set)

struct CacheEntry {
    fs::file_time_type mtime;
    std::uintmax_t size = 0;
    std::shared_ptr<const Dataset> data;
};

std::mutex& cacheMutex() {
    static std::mutex m;
    return m;
}
std::map<std::string, CacheEntry>& cache() {
    static std::map<std::string, CacheEntry> c;
    return c;
}

/// The cached data set of `key` (a file whose time and size say whether it changed), or a
/// fresh one from load(). Loads are serialised: two views asking at once read the files once.
template <class Load>
std::shared_ptr<const Dataset> cached(const std::string& key, const std::string& stampFile,
                                      Load&& load) {
    std::error_code ec;
    const auto mtime = fs::last_write_time(stampFile, ec);
    const auto size = ec ? 0 : fs::file_size(stampFile, ec);
    std::lock_guard lock(cacheMutex());
    if (!ec) {
        auto it = cache().find(key);
        if (it != cache().end() && it->second.mtime == mtime && it->second.size == size)
            return it->second.data;
    }
    std::shared_ptr<const Dataset> d = load();
    if (!ec)
        cache()[key] = {mtime, size, d};
    return d;
}

void computeStats(Dataset& d) {
    const auto dim = static_cast<std::size_t>(d.dim);
    std::vector<double> sum(dim, 0.0), sum2(dim, 0.0);
    std::vector<float> row(dim);
    for (int i = 0; i < d.trainCount; ++i) {
        d.rawExample(i, row.data());
        for (std::size_t j = 0; j < dim; ++j)
            sum[j] += row[j];
    }
    d.mean.resize(dim);
    for (std::size_t j = 0; j < dim; ++j)
        d.mean[j] = sum[j] / d.trainCount;
    // second pass about the mean: no cancellation for features with a large offset
    for (int i = 0; i < d.trainCount; ++i) {
        d.rawExample(i, row.data());
        for (std::size_t j = 0; j < dim; ++j) {
            const double c = row[j] - d.mean[j];
            sum2[j] += c * c;
        }
    }
    d.stddev.resize(dim);
    for (std::size_t j = 0; j < dim; ++j)
        d.stddev[j] = std::sqrt(sum2[j] / d.trainCount);
}

std::string fashionPath(const std::string& dir, const char* name) {
    return (fs::path(dir) / name).string();
}

constexpr const char* kFashionFiles[4] = {"train-images-idx3-ubyte.gz",
                                          "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                                          "t10k-labels-idx1-ubyte.gz"};

void requireFashionFiles(const std::string& dir) {
    for (const char* name : kFashionFiles) {
        const std::string p = fashionPath(dir, name);
        std::error_code ec;
        if (!fs::is_regular_file(p, ec))
            throw DataError("data: " + p +
                            " not found (install the Debian package dataset-fashion-mnist)");
    }
}

/// Images and labels of one split, checked against each other.
void readSplit(const std::string& dir, const char* images, const char* labels,
               std::vector<std::uint8_t>& pixels, std::vector<std::uint8_t>& labelBytes,
               int& count) {
    const std::string ip = fashionPath(dir, images), lp = fashionPath(dir, labels);
    IdxArray im = readIdx(ip);
    if (im.dims.size() != 3 || im.dims[1] != kFashionMnistSide || im.dims[2] != kFashionMnistSide)
        fail(
            ip, "does not hold 28 x 28 images (IDX dimensions " + [&] {
                std::string s;
                for (int x : im.dims)
                    s += (s.empty() ? "" : " x ") + std::to_string(x);
                return s;
            }() + ")");
    IdxArray lb = readIdx(lp);
    if (lb.dims.size() != 1 || lb.dims[0] != im.dims[0])
        fail(lp, "does not hold one label per image of " + ip + " (" + std::to_string(im.dims[0]) +
                     " images)");
    for (std::size_t i = 0; i < lb.bytes.size(); ++i)
        if (lb.bytes[i] > 9)
            fail(lp, "has label " + std::to_string(lb.bytes[i]) + " at item " + std::to_string(i) +
                         " (labels are 0..9)");
    count = im.dims[0];
    pixels = std::move(im.bytes);
    labelBytes = std::move(lb.bytes);
}

} // namespace

bool parseDataKind(const std::string& data, DataKind& out) {
    if (data == "gaussian")
        out = DataKind::Gaussian;
    else if (data == "fashion-mnist")
        out = DataKind::FashionMnist;
    else if (endsWithCsv(data))
        out = DataKind::Csv;
    else
        return false;
    return true;
}

IdxArray readIdx(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        fail(path, "not found");
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f)
        fail(path, "cannot be opened");
    struct Closer {
        gzFile f;
        ~Closer() { gzclose(f); }
    } closer{f};
    gzbuffer(f, 1u << 20);
    unsigned char magic[4];
    readExactly(f, path, magic, 4, "the IDX magic number");
    if (magic[0] != 0 || magic[1] != 0)
        fail(path, "is not an IDX file (bad magic number: the first two bytes must be 0)");
    if (magic[2] != 0x08)
        fail(
            path, "is an IDX file of element type 0x" + [&] {
                char b[8];
                std::snprintf(b, sizeof b, "%02X", magic[2]);
                return std::string(b);
            }() + ", not unsigned bytes (0x08)");
    const int nd = magic[3];
    if (nd < 1 || nd > 4)
        fail(path, "is an IDX file of " + std::to_string(nd) + " dimensions (expected 1 to 4)");
    IdxArray a;
    std::size_t total = 1;
    for (int i = 0; i < nd; ++i) {
        unsigned char b[4];
        readExactly(f, path, b, 4, "IDX dimension " + std::to_string(i + 1));
        const std::uint32_t v = (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) |
                                (std::uint32_t(b[2]) << 8) | std::uint32_t(b[3]);
        if (v == 0 || v > (1u << 24))
            fail(path, "has IDX dimension " + std::to_string(i + 1) + " = " + std::to_string(v) +
                           " (expected 1 to 16777216)");
        a.dims.push_back(static_cast<int>(v));
        total *= v;
        if (total > (std::size_t(1) << 32))
            fail(path, "holds more than 4 GiB of data");
    }
    a.bytes.resize(total);
    readExactly(f, path, a.bytes.data(), total, "the data");
    unsigned char extra;
    if (gzread(f, &extra, 1) > 0)
        fail(path, "has bytes after the " + std::to_string(total) + " its IDX dimensions announce");
    return a;
}

void Dataset::rawExample(int i, float* out) const {
    const auto d = static_cast<std::size_t>(dim);
    const std::size_t off = static_cast<std::size_t>(i) * d;
    if (kind == DataKind::FashionMnist)
        for (std::size_t j = 0; j < d; ++j)
            out[j] = static_cast<float>(trainPixels[off + j]);
    else
        std::copy_n(trainValues.begin() + static_cast<std::ptrdiff_t>(off), d, out);
}

void Dataset::standardizedExample(int i, float* out) const {
    rawExample(i, out);
    for (std::size_t j = 0; j < static_cast<std::size_t>(dim); ++j) {
        const double c = out[j] - mean[j];
        out[j] = static_cast<float>(stddev[j] > 0 ? c / stddev[j] : c);
    }
}

std::shared_ptr<const Dataset> loadFashionMnist(const std::string& dir) {
    requireFashionFiles(dir);
    return cached("fashion-mnist:" + dir, fashionPath(dir, kFashionFiles[0]), [&] {
        auto d = std::make_shared<Dataset>();
        d->kind = DataKind::FashionMnist;
        d->source = dir;
        d->dim = kFashionMnistDim;
        d->imageRows = d->imageCols = kFashionMnistSide;
        readSplit(dir, kFashionFiles[0], kFashionFiles[1], d->trainPixels, d->trainLabels,
                  d->trainCount);
        readSplit(dir, kFashionFiles[2], kFashionFiles[3], d->testPixels, d->testLabels,
                  d->testCount);
        computeStats(*d);
        return std::shared_ptr<const Dataset>(std::move(d));
    });
}

std::shared_ptr<const Dataset> loadCsv(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        fail(path, "not found");
    return cached("csv:" + path, path, [&] {
        std::ifstream in(path, std::ios::binary);
        if (!in)
            fail(path, "cannot be opened");
        auto d = std::make_shared<Dataset>();
        d->kind = DataKind::Csv;
        d->source = path;
        std::string line;
        long long lineNo = 0;
        bool first = true;
        std::vector<std::string> cells;
        while (std::getline(in, line)) {
            ++lineNo;
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            if (line.find_first_not_of(" \t") == std::string::npos)
                continue; // blank lines (a trailing newline) carry no example
            cells.clear();
            std::size_t pos = 0;
            while (true) {
                const std::size_t comma = line.find(',', pos);
                std::string c =
                    line.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
                const auto b = c.find_first_not_of(" \t"), e = c.find_last_not_of(" \t");
                cells.push_back(b == std::string::npos ? std::string() : c.substr(b, e - b + 1));
                if (comma == std::string::npos)
                    break;
                pos = comma + 1;
            }
            const std::string where = "line " + std::to_string(lineNo);
            auto number = [](const std::string& c, double& v) {
                const auto r = std::from_chars(c.data(), c.data() + c.size(), v);
                return r.ec == std::errc() && r.ptr == c.data() + c.size() && !c.empty();
            };
            if (first) {
                first = false;
                d->dim = static_cast<int>(cells.size());
                if (cells.size() > static_cast<std::size_t>(Limits::kMaxInputDim))
                    fail(path, where + ": " + std::to_string(cells.size()) +
                                   " columns, more than the largest input dimension " +
                                   std::to_string(Limits::kMaxInputDim));
                double v = 0;
                // a header is a first line of which no cell is a number
                if (std::none_of(cells.begin(), cells.end(),
                                 [&](const std::string& c) { return number(c, v); })) {
                    d->header = cells;
                    continue;
                }
            }
            if (cells.size() != static_cast<std::size_t>(d->dim))
                fail(path, where + ": expected " + std::to_string(d->dim) + " numbers, got " +
                               std::to_string(cells.size()));
            for (std::size_t j = 0; j < cells.size(); ++j) {
                double v = 0;
                if (!number(cells[j], v))
                    fail(path, where + ": not a number '" + cells[j].substr(0, 40) +
                                   "' in column " + std::to_string(j + 1));
                if (!std::isfinite(v) || std::abs(v) > 1e30)
                    fail(path, where + ": '" + cells[j].substr(0, 40) + "' in column " +
                                   std::to_string(j + 1) +
                                   " is not a finite number of float range");
                d->trainValues.push_back(static_cast<float>(v));
            }
            ++d->trainCount;
        }
        if (in.bad())
            fail(path, "could not be read");
        if (d->trainCount == 0)
            fail(path, "has no rows of numbers");
        computeStats(*d);
        return std::shared_ptr<const Dataset>(std::move(d));
    });
}

std::shared_ptr<const Dataset> loadData(const std::string& data) {
    DataKind k{};
    if (!parseDataKind(data, k))
        throw DataError("data: must be gaussian, fashion-mnist or a path ending in .csv (got '" +
                        data + "')");
    switch (k) {
    case DataKind::Gaussian:
        return nullptr;
    case DataKind::FashionMnist:
        return loadFashionMnist();
    case DataKind::Csv:
        return loadCsv(data);
    }
    return nullptr;
}

bool probeData(const std::string& data, int& dim, int& count, std::string& error) {
    try {
        DataKind k{};
        if (!parseDataKind(data, k))
            throw DataError("data: must be gaussian, fashion-mnist or a path ending in .csv "
                            "(got '" +
                            data + "')");
        if (k == DataKind::FashionMnist) {
            requireFashionFiles(kFashionMnistDir); // read on first use, not to validate
            dim = kFashionMnistDim;
            count = kFashionMnistTrain;
            return true;
        }
        if (k == DataKind::Csv) {
            const auto d = loadCsv(data);
            dim = d->dim;
            count = d->trainCount;
        }
        return true;
    } catch (const DataError& e) {
        error = e.what();
        return false;
    }
}

std::vector<int> dataPermutationPrefix(std::uint64_t seed, int n, int count) {
    std::vector<int> p(static_cast<std::size_t>(n));
    std::iota(p.begin(), p.end(), 0);
    Rng rng(seed, Stream::Inputs, 1); // index 0 is the Gaussian inputs' stream
    for (int i = 0; i < count && i < n - 1; ++i) {
        const double u = static_cast<double>(rng.next() >> 11) * 0x1.0p-53; // [0, 1)
        const int j = i + std::min(n - i - 1, static_cast<int>(u * (n - i)));
        std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(j)]);
    }
    p.resize(static_cast<std::size_t>(std::min(count, n)));
    return p;
}

void fillDataInputs(const NetworkSpec& spec, int count, float* out) {
    const auto d = loadData(spec.data);
    if (!d)
        throw DataError("data: gaussian inputs are drawn, not read");
    if (d->dim != spec.inputDim)
        throw DataError("data: " + d->source + " has " + std::to_string(d->dim) +
                        " features, not input_dim " + std::to_string(spec.inputDim));
    if (count > d->trainCount)
        throw DataError("data: " + d->source + " has " + std::to_string(d->trainCount) +
                        " training examples, fewer than the " + std::to_string(count) +
                        " inputs asked for");
    const std::vector<int> idx = dataPermutationPrefix(spec.seed, d->trainCount, count);
    const auto dim = static_cast<std::size_t>(d->dim);
    const auto s = static_cast<float>(spec.inputScale);
    for (int b = 0; b < count; ++b) {
        float* col = out + static_cast<std::size_t>(b) * dim;
        if (spec.standardize)
            d->standardizedExample(idx[static_cast<std::size_t>(b)], col);
        else
            d->rawExample(idx[static_cast<std::size_t>(b)], col);
        for (std::size_t j = 0; j < dim; ++j)
            col[j] *= s;
    }
}

void clearDataCache() {
    std::lock_guard lock(cacheMutex());
    cache().clear();
}

} // namespace initscope
