// Real inputs: Fashion-MNIST (the Debian package dataset-fashion-mnist, gzip'd IDX files) and a
// user's CSV file of numbers. A spec's `data` field names the source ("gaussian" draws the
// inputs; see weights.h drawInputs); these are read once per process and kept in memory, keyed
// by path and modification time, so repeated runs, sweeps and views never reread the files.
//
// A CSV file is all features: every column is an input coordinate (no label column), one
// example per row, an optional header line of names, the same number of columns in every row.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace initscope {

struct NetworkSpec;

/// A data file that is missing or malformed; what() names the path (and the line for CSV).
class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Where the Debian package installs Fashion-MNIST.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr int kFashionMnistSide = 28;
inline constexpr int kFashionMnistDim = kFashionMnistSide * kFashionMnistSide;
inline constexpr int kFashionMnistTrain = 60000;

/// The source a `data` value names.
enum class DataKind { Gaussian, FashionMnist, Csv };
/// "gaussian", "fashion-mnist", or a path ending in .csv (any case); false for anything else.
bool parseDataKind(const std::string& data, DataKind& out);
inline bool isRealData(const std::string& data) {
    DataKind k{};
    return parseDataKind(data, k) && k != DataKind::Gaussian;
}

/// One IDX file: its dimensions and its unsigned bytes (IDX type 0x08), row-major.
struct IdxArray {
    std::vector<int> dims;
    std::vector<std::uint8_t> bytes;
};
/// Reads a gzip'd (or plain: zlib reads both) IDX file of unsigned bytes. Throws DataError
/// naming the path and what is wrong (missing, bad magic, unsupported type, truncated).
IdxArray readIdx(const std::string& path);

/// A data set in memory. Examples are rows of `dim` features; Fashion-MNIST keeps its pixels as
/// bytes (47 MB rather than 188 MB of floats), a CSV its numbers as floats.
struct Dataset {
    DataKind kind = DataKind::Csv;
    std::string source; // the directory (fashion-mnist) or the CSV path
    int dim = 0;
    int imageRows = 0, imageCols = 0; // 28 x 28 for images, 0 for a CSV
    int trainCount = 0, testCount = 0;
    std::vector<std::uint8_t> trainPixels, testPixels; // images: trainCount x dim bytes
    std::vector<std::uint8_t> trainLabels, testLabels; // images: 0..9
    std::vector<float> trainValues;                    // CSV: trainCount x dim
    std::vector<std::string> header;                   // CSV: column names when it has a header
    // Per-feature statistics of the training set (population std); the standardisation.
    std::vector<double> mean, stddev;

    /// Training example i's raw features (pixels 0..255 as floats), into out[0..dim).
    void rawExample(int i, float* out) const;
    /// Training example i standardised: (raw - mean) / std, or raw - mean where std = 0.
    void standardizedExample(int i, float* out) const;
};

/// Fashion-MNIST from `dir` (train and t10k images and labels), cached.
std::shared_ptr<const Dataset> loadFashionMnist(const std::string& dir = kFashionMnistDir);
/// A CSV file, cached. Throws DataError naming the path and line:
/// "data: F line 17: expected 5 numbers, got 4", "... not a number 'abc' in column 3".
std::shared_ptr<const Dataset> loadCsv(const std::string& path);
/// The data set a spec's `data` value names (null for gaussian), cached.
std::shared_ptr<const Dataset> loadData(const std::string& data);

/// Checks that the data can be used without reading big files when possible: for fashion-mnist
/// that its four files exist (the dimension and count are fixed), for a CSV file that it parses.
/// Sets dim and count (training examples); returns false with a message naming the path.
bool probeData(const std::string& data, int& dim, int& count, std::string& error);

/// Indices of the first `count` examples of a seeded random permutation of [0, n): a partial
/// Fisher-Yates shuffle, so the first k indices are the same whatever count >= k is.
std::vector<int> dataPermutationPrefix(std::uint64_t seed, int n, int count);

/// The first `count` inputs of `spec` from its real data, one per column (dim x count, column
/// major), raw or standardised, times input_scale: column b is training example
/// dataPermutationPrefix(seed, n, count)[b].
void fillDataInputs(const NetworkSpec& spec, int count, float* out);

/// Drops every cached data set (tests).
void clearDataCache();

} // namespace initscope
