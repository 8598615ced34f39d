// A tour as a slide deck: one lecture-style figure per step (the view the step opens, drawn by
// the one export path of figure.h) in PNG, SVG or PDF, and an index (index.md and index.html)
// listing each step's number, title, note and file. Runs are computed off the GUI thread: the
// layer views' run on a JobWorker, the analysis views on their own workers; only the drawing of
// each finished figure happens on the GUI thread. Used by Tour > Export and initscope-cli
// export-tour.
#pragma once

#include "export/figure.h"
#include "spec/tour.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

namespace initscope::ui {

class JobWorker;

/// "01-he-relu.png": the file of step `index` (0-based) in an exported tour.
QString tourFigureName(int index, const TourStop& stop, const QString& format);

class TourExporter : public QObject {
    Q_OBJECT
public:
    /// `format`: png, svg or pdf. `options.presetJson` is replaced by each step's preset.
    TourExporter(QString title, std::vector<TourStop> stops, QString dir, QString format,
                 FigureOptions options, QObject* parent = nullptr);
    ~TourExporter() override;

    /// Starts the export (returns at once); finished() follows. Creates `dir` when missing.
    void start();
    /// Stops after the figure being drawn; finished(false, "cancelled") follows.
    void cancel();
    bool isRunning() const { return running_; }
    /// The files written so far (figures, then index.md and index.html), absolute.
    QStringList files() const { return files_; }
    QString error() const { return error_; }

signals:
    /// Step `done` of `total` is written (0 when starting).
    void progress(int done, int total, const QString& title);
    void finished(bool ok, const QString& error);

private:
    void nextStep();
    void stepComputed(const FigureData& data);
    void writeFigure(QWidget* figure);
    void finish(bool ok, const QString& error);
    bool writeIndex(QString* error);

    QString title_;
    std::vector<TourStop> stops_;
    QString dir_, format_;
    FigureOptions options_;
    int step_ = 0;
    bool running_ = false, cancelled_ = false;
    QStringList files_, figureFiles_;
    QString error_;
    JobWorker* worker_;
    std::unique_ptr<QWidget> analysis_; // the analysis view computing now
};

/// Exports `stops` into `dir` and waits (an event loop) until done: initscope-cli export-tour.
/// Returns false and sets `error` on failure; `files` gets what was written.
bool exportTourBlocking(const QString& title, const std::vector<TourStop>& stops,
                        const QString& dir, const QString& format, const FigureOptions& options,
                        QStringList* files, QString* error);

} // namespace initscope::ui
