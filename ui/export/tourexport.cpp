#include "export/tourexport.h"

#include "export/export.h"
#include "network/engine.h"
#include "views/viewregistry.h"
#include "work/jobworker.h"

#include <QCoreApplication>
#include <QDir>
#include <QEventLoop>
#include <QFileInfo>
#include <QTimer>
#include <QWidget>

#include <exception>

namespace initscope::ui {

namespace {
QString md(QString text) {
    // a table cell: no line breaks, no column separators
    text.replace(QLatin1Char('\n'), QLatin1Char(' '));
    text.replace(QLatin1Char('|'), QStringLiteral("\\|"));
    return text;
}
} // namespace

QString tourFigureName(int index, const TourStop& stop, const QString& format) {
    return QStringLiteral("%1-%2.%3")
        .arg(index + 1, 2, 10, QLatin1Char('0'))
        .arg(QString::fromStdString(stop.preset.name), format);
}

TourExporter::TourExporter(QString title, std::vector<TourStop> stops, QString dir, QString format,
                           FigureOptions options, QObject* parent)
    : QObject(parent), title_(std::move(title)), stops_(std::move(stops)), dir_(std::move(dir)),
      format_(std::move(format).toLower()), options_(std::move(options)),
      worker_(new JobWorker(this)) {}

TourExporter::~TourExporter() = default; // the worker (a child) cancels and joins

void TourExporter::start() {
    if (running_)
        return;
    files_.clear();
    figureFiles_.clear();
    error_.clear();
    step_ = 0;
    cancelled_ = false;
    if (format_ != QLatin1String("png") && format_ != QLatin1String("svg") &&
        format_ != QLatin1String("pdf")) {
        running_ = true;
        finish(false, tr("the format must be png, svg or pdf (got %1)").arg(format_));
        return;
    }
    if (stops_.empty()) {
        running_ = true;
        finish(false, tr("the tour has no steps"));
        return;
    }
    if (!QDir().mkpath(dir_)) {
        running_ = true;
        finish(false, tr("cannot create the folder %1").arg(dir_));
        return;
    }
    running_ = true;
    emit progress(0, static_cast<int>(stops_.size()), QString());
    // the next step starts from the event loop, so that start() returns at once
    QTimer::singleShot(0, this, &TourExporter::nextStep);
}

void TourExporter::cancel() {
    if (!running_)
        return;
    cancelled_ = true;
    worker_->cancel();
    analysis_.reset();
    finish(false, tr("cancelled"));
}

void TourExporter::nextStep() {
    if (!running_ || cancelled_)
        return;
    if (step_ >= static_cast<int>(stops_.size())) {
        QString message;
        if (!writeIndex(&message))
            finish(false, message);
        else
            finish(true, QString());
        return;
    }
    const TourStop& stop = stops_[static_cast<std::size_t>(step_)];
    const QString view = QString::fromStdString(stop.preset.view);
    const ViewInfo* info = findView(view);
    if (!info || !exportableViewNames().contains(info->name)) {
        finish(false, tr("step %1: the %2 view has no figure (one of: %3)")
                          .arg(step_ + 1)
                          .arg(view, exportableViewNames().join(QStringLiteral(", "))));
        return;
    }
    if (!info->isLayerView()) {
        // the view computes on its own worker; it is drawn here once its result is shown
        QString problem;
        analysis_ = startAnalysisFigure(
            view, stop.preset, options_.size,
            [this] {
                // let the last streamed values arrive first
                QTimer::singleShot(0, this, [this] {
                    if (!analysis_)
                        return;
                    if (const QString failed = analysisFigureProblems(analysis_.get());
                        !failed.isEmpty())
                        finish(false, tr("step %1: %2").arg(step_ + 1).arg(failed));
                    else
                        writeFigure(analysis_.get());
                });
            },
            &problem);
        if (!analysis_)
            finish(false, tr("step %1: %2").arg(step_ + 1).arg(problem));
        return;
    }
    const NetworkSpec spec = stop.preset.spec;
    const QString statistic = QString::fromStdString(stop.preset.statistic);
    worker_->submit([this, spec, statistic](quint64 gen, const std::atomic<bool>& cancel) {
        // on the worker thread: the run and its heatmaps
        try {
            Engine engine;
            const RunResult result = engine.run(spec, nullptr, &cancel);
            if (result.cancelled)
                return;
            auto data = std::make_shared<FigureData>(figureDataFromResult(result));
            if (!statistic.isEmpty())
                data->statistic = statistic;
            worker_->post(gen, [this, data] { stepComputed(*data); });
        } catch (const std::exception& e) {
            const QString message = QString::fromUtf8(e.what());
            worker_->post(gen, [this, message] { finish(false, message); });
        }
    });
}

void TourExporter::stepComputed(const FigureData& data) {
    if (!running_)
        return;
    const TourStop& stop = stops_[static_cast<std::size_t>(step_)];
    const std::unique_ptr<QWidget> figure =
        makeFigure(QString::fromStdString(stop.preset.view), data);
    if (!figure) {
        finish(false, tr("step %1: no figure").arg(step_ + 1));
        return;
    }
    writeFigure(figure.get());
}

void TourExporter::writeFigure(QWidget* figure) {
    if (!running_)
        return;
    const TourStop& stop = stops_[static_cast<std::size_t>(step_)];
    const QString name = tourFigureName(step_, stop, format_);
    const QString path = QDir(dir_).filePath(name);
    FigureOptions options = options_;
    options.presetJson = QString::fromStdString(presetToJson(stop.preset));
    QString message;
    if (!exportFigureWidget(figure, QString::fromStdString(stop.preset.view), path, options,
                            &message)) {
        finish(false, tr("step %1 (%2): %3")
                          .arg(step_ + 1)
                          .arg(QString::fromStdString(stop.preset.name), message));
        return;
    }
    files_ << QFileInfo(path).absoluteFilePath();
    figureFiles_ << name;
    analysis_.reset();
    ++step_;
    emit progress(step_, static_cast<int>(stops_.size()), QString::fromStdString(stop.title));
    QTimer::singleShot(0, this, &TourExporter::nextStep);
}

bool TourExporter::writeIndex(QString* error) {
    QString m = QStringLiteral("# %1\n\n| step | title | note | file |\n|---|---|---|---|\n")
                    .arg(md(title_));
    QString h = QStringLiteral("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                               "<title>%1</title>\n<style>body{font-family:sans-serif;"
                               "max-width:1300px;margin:auto}section{margin:2em 0}"
                               "img,object{width:100%}</style></head>\n<body>\n<h1>%1</h1>\n")
                    .arg(title_.toHtmlEscaped());
    for (int i = 0; i < figureFiles_.size(); ++i) {
        const TourStop& s = stops_[static_cast<std::size_t>(i)];
        const QString title = QString::fromStdString(s.title);
        const QString note = QString::fromStdString(s.note);
        const QString& file = figureFiles_[i];
        m += QStringLiteral("| %1 | %2 | %3 | [%4](%4) |\n")
                 .arg(i + 1)
                 .arg(md(title), md(note), file);
        const QString figure =
            format_ == QLatin1String("pdf")
                ? QStringLiteral("<p><a href=\"%1\">%1</a></p>").arg(file.toHtmlEscaped())
                : QStringLiteral("<img src=\"%1\" alt=\"%2\">")
                      .arg(file.toHtmlEscaped(), title.toHtmlEscaped());
        h += QStringLiteral("<section id=\"step-%1\"><h2>%1. %2</h2>\n<p>%3</p>\n%4\n"
                            "<p><small>preset %5, view %6</small></p></section>\n")
                 .arg(i + 1)
                 .arg(title.toHtmlEscaped(), note.toHtmlEscaped(), figure,
                      QString::fromStdString(s.preset.name).toHtmlEscaped(),
                      QString::fromStdString(s.preset.view).toHtmlEscaped());
    }
    h += QStringLiteral("</body></html>\n");
    const QString mdPath = QDir(dir_).filePath(QStringLiteral("index.md"));
    const QString htmlPath = QDir(dir_).filePath(QStringLiteral("index.html"));
    if (!saveText(m, mdPath, error) || !saveText(h, htmlPath, error))
        return false;
    files_ << QFileInfo(mdPath).absoluteFilePath() << QFileInfo(htmlPath).absoluteFilePath();
    return true;
}

void TourExporter::finish(bool ok, const QString& error) {
    if (!running_)
        return;
    running_ = false;
    error_ = error;
    analysis_.reset();
    emit finished(ok, error);
}

bool exportTourBlocking(const QString& title, const std::vector<TourStop>& stops,
                        const QString& dir, const QString& format, const FigureOptions& options,
                        QStringList* files, QString* error) {
    TourExporter exporter(title, stops, dir, format, options);
    QEventLoop loop;
    bool ok = false;
    QObject::connect(&exporter, &TourExporter::finished, &loop, [&](bool success, const QString&) {
        ok = success;
        loop.quit();
    });
    exporter.start();
    if (exporter.isRunning())
        loop.exec();
    else
        ok = exporter.error().isEmpty();
    if (files)
        *files = exporter.files();
    if (!ok && error)
        *error = exporter.error();
    return ok;
}

} // namespace initscope::ui
